//! `wasi:keyvalue` (store, atomics, batch; 0.2.0-draft, as wasmCloud implements it) on the
//! `wasmesh:keyvalue` contract.
//!
//! Decision: the identifier given to `store.open` is the name of one of the actor's links of the
//! keyvalue contract, the same name a waPC actor passes as a host call's binding; the empty
//! identifier and `default` are the default link. The bucket (or Redis database and prefix) the
//! data lives in is that link's config, so the same component runs against NATS KV in one app and
//! Redis in another, and an operator (not the code) decides where data goes. `open` does not ask
//! the provider anything: an identifier no link answers to fails on the bucket's first operation
//! with `no-such-store` (and the host log says which link is missing).
//!
//! Values are bytes, as in the contract; `atomics.increment` keeps a counter as its decimal text
//! (what the contract's `Increment` stores), so a waPC actor and a component can share counters.

use prost::Message;
use wasmtime::component::Resource;

use super::ComponentState;
use super::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::contracts::{
    self, DeleteRequest, DeleteResponse, ExistsRequest, ExistsResponse, GetRequest, GetResponse, IncrementRequest,
    IncrementResponse, KeysRequest, KeysResponse, SetRequest, SetResponse,
};
use crate::host::LogLevel;

/// A bucket a component opened: the link of the keyvalue contract its identifier names.
pub struct Bucket {
    link: String,
}

/// What a keyvalue import answers: a trap (the store is broken) or the guest's result.
type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

/// Keys per page of `list-keys`.
const KEYS_PAGE: u64 = 1000;

impl ComponentState {
    /// One keyvalue operation on the provider `link` names, as a waPC actor's host call would make it.
    async fn keyvalue<Req: Message, Resp: Message + Default>(
        &mut self,
        bucket: &Resource<Bucket>,
        operation: &str,
        request: Req,
    ) -> Answer<Resp> {
        let link = self.table.get(bucket)?.link.clone();
        let answer = self.host_call(&link, contracts::KEY_VALUE_CONTRACT, operation, request.encode_to_vec()).await;
        Ok(match answer {
            Ok(bytes) => Resp::decode(bytes.as_slice()).map_err(|e| {
                store::Error::Other(format!("the keyvalue provider answered {operation} with a malformed message: {e}"))
            }),
            Err(message) => Err(self.keyvalue_error(&link, message)),
        })
    }

    /// The guest's view of a failed host call; a missing link or capability is also logged, since
    /// the guest's error variant cannot say which link it was.
    fn keyvalue_error(&self, link: &str, message: String) -> store::Error {
        let error = if message.starts_with("WASMESH_ERR_NO_LINK") {
            store::Error::NoSuchStore
        } else if message.starts_with("WASMESH_ERR_CAPABILITY_DENIED") {
            store::Error::AccessDenied
        } else {
            return store::Error::Other(message);
        };
        let shown = if link.is_empty() { "default" } else { link };
        self.io.send(LogLevel::Warn, format!("wasi:keyvalue store \"{shown}\": {message}"));
        error
    }
}

impl store::Host for ComponentState {
    async fn open(&mut self, identifier: String) -> Answer<Resource<Bucket>> {
        Ok(Ok(self.table.push(Bucket { link: identifier })?))
    }
}

impl store::HostBucket for ComponentState {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
        let r: GetResponse = match self.keyvalue(&bucket, contracts::KEY_VALUE_GET, GetRequest { key }).await? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(r.found.then_some(r.value)))
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Answer<()> {
        let request = SetRequest { key, value, ttl_seconds: 0 };
        Ok(self.keyvalue::<_, SetResponse>(&bucket, contracts::KEY_VALUE_SET, request).await?.map(drop))
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<()> {
        let request = DeleteRequest { key };
        Ok(self.keyvalue::<_, DeleteResponse>(&bucket, contracts::KEY_VALUE_DELETE, request).await?.map(drop))
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<bool> {
        let request = ExistsRequest { key };
        Ok(self.keyvalue::<_, ExistsResponse>(&bucket, contracts::KEY_VALUE_EXISTS, request).await?.map(|r| r.exists))
    }

    /// Keys in order, a page at a time; the cursor is how many keys the guest has seen.
    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<u64>) -> Answer<store::KeyResponse> {
        let seen = cursor.unwrap_or(0);
        let Ok(limit) = u32::try_from(seen + KEYS_PAGE + 1) else {
            return Ok(Err(store::Error::Other(format!("list-keys cursor {seen} is past any key"))));
        };
        let request = KeysRequest { prefix: String::new(), limit };
        let keys = match self.keyvalue::<_, KeysResponse>(&bucket, contracts::KEY_VALUE_KEYS, request).await? {
            Ok(r) => r.keys,
            Err(e) => return Ok(Err(e)),
        };
        let more = keys.len() as u64 > seen + KEYS_PAGE;
        let page = keys.into_iter().skip(seen as usize).take(KEYS_PAGE as usize).collect();
        Ok(Ok(store::KeyResponse { keys: page, cursor: more.then_some(seen + KEYS_PAGE) }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for ComponentState {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: u64) -> Answer<u64> {
        let Ok(delta) = i64::try_from(delta) else {
            return Ok(Err(store::Error::Other(format!("increment delta {delta} is over the store's range (2^63 - 1)"))));
        };
        if delta == 0 {
            // The contract's Increment reads 0 as 1: the value as it is, read instead.
            return Ok(match self.keyvalue::<_, GetResponse>(&bucket, contracts::KEY_VALUE_GET, GetRequest { key: key.clone() }).await? {
                Ok(r) if !r.found => Ok(0),
                Ok(r) => counter(&key, &r.value),
                Err(e) => Err(e),
            });
        }
        let request = IncrementRequest { key, delta };
        Ok(self.keyvalue::<_, IncrementResponse>(&bucket, contracts::KEY_VALUE_INCREMENT, request).await?.and_then(|r| {
            u64::try_from(r.value).map_err(|_| store::Error::Other(format!("the counter is negative ({})", r.value)))
        }))
    }
}

/// A counter's stored text as a number.
fn counter(key: &str, value: &[u8]) -> Result<u64, store::Error> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| store::Error::Other(format!("the value of \"{key}\" is not a counter (a decimal number)")))
}

impl batch::Host for ComponentState {
    async fn get_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let request = GetRequest { key: key.clone() };
            match self.keyvalue::<_, GetResponse>(&bucket, contracts::KEY_VALUE_GET, request).await? {
                Ok(r) => out.push(r.found.then_some((key, r.value))),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(&mut self, bucket: Resource<Bucket>, key_values: Vec<(String, Vec<u8>)>) -> Answer<()> {
        for (key, value) in key_values {
            let request = SetRequest { key, value, ttl_seconds: 0 };
            if let Err(e) = self.keyvalue::<_, SetResponse>(&bucket, contracts::KEY_VALUE_SET, request).await? {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<()> {
        for key in keys {
            if let Err(e) = self.keyvalue::<_, DeleteResponse>(&bucket, contracts::KEY_VALUE_DELETE, DeleteRequest { key }).await? {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}
