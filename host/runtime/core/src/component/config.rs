//! `wasi:config/store` (0.2.0-draft, as wasmCloud implements it): the actor's config, read from
//! the host once per invocation (contract `wasmesh:config`, see proto/…/actorconfig.proto).

use std::collections::BTreeMap;

use prost::Message;

use super::ComponentState;
use super::bindings::wasi::config::store::{Error, Host};
use crate::contracts::{self, GetAllConfigRequest, GetAllConfigResponse};

impl ComponentState {
    /// The actor's config, asked of the host on first use in this invocation.
    async fn config(&mut self) -> Result<&BTreeMap<String, String>, Error> {
        if self.config.is_none() {
            let request = GetAllConfigRequest {}.encode_to_vec();
            let bytes = self
                .host_call("", contracts::ACTOR_CONFIG_CONTRACT, contracts::ACTOR_CONFIG_GET_ALL, request)
                .await
                .map_err(Error::Upstream)?;
            let values = GetAllConfigResponse::decode(bytes.as_slice())
                .map_err(|e| Error::Upstream(format!("the host answered with a malformed config: {e}")))?
                .values;
            self.config = Some(values.into_iter().map(|v| (v.key, v.value)).collect());
        }
        Ok(self.config.get_or_insert_default())
    }
}

impl Host for ComponentState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, Error>> {
        Ok(self.config().await.map(|c| c.get(&key).cloned()))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, Error>> {
        Ok(self.config().await.map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
    }
}
