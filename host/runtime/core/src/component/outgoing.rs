//! Outgoing `wasi:http` requests: sent only where the host allows (contract `wasmesh:config`,
//! `ActorConfig.CheckOutgoing`: the actor's `allowed_outbound_hosts` and, for a signed actor, its
//! capability), by wasmtime-wasi-http's client (HTTP/1.1, TLS with the web's root certificates).
//! A denied request fails in the guest with `HTTP-request-denied`, and the host log says which
//! authority it asked for and why it was refused.
//!
//! Why ask the host for every request: the policy's facts (config, claims) live there and change
//! live, and an outgoing request costs far more than the host call.

use std::future::Future;
use std::sync::Arc;

use http_body_util::BodyExt;
use prost::Message;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::contracts::{self, CheckOutgoingRequest, CheckOutgoingResponse};
use crate::host::{Host, HostCall, LogLevel};

/// The outgoing-request policy of one invocation.
pub(super) struct Outgoing {
    pub(super) host: Arc<dyn Host>,
    pub(super) invocation: u64,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let (host, invocation) = (self.host.clone(), self.invocation);
        Box::new(async move {
            let uri = request.uri();
            let authority = uri.authority().map_or_else(String::new, |a| a.to_string());
            let scheme = uri.scheme_str().unwrap_or("http").to_owned();
            if let Some(reason) = refusal(&host, invocation, &scheme, &authority).await {
                host.log(invocation, LogLevel::Warn, format!("outgoing HTTP request to {scheme}://{authority} denied: {reason}"));
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// Why the host refuses the request, or `None` when it allows it.
async fn refusal(host: &Arc<dyn Host>, invocation: u64, scheme: &str, authority: &str) -> Option<String> {
    let call = HostCall {
        invocation,
        binding: String::new(),
        namespace: contracts::ACTOR_CONFIG_CONTRACT.to_owned(),
        operation: contracts::ACTOR_CONFIG_CHECK_OUTGOING.to_owned(),
        payload: CheckOutgoingRequest { scheme: scheme.to_owned(), authority: authority.to_owned() }.encode_to_vec(),
    };
    match host.host_call(call).await {
        Ok(bytes) => match CheckOutgoingResponse::decode(bytes.as_slice()) {
            Ok(r) if r.allowed => None,
            Ok(r) => Some(r.reason),
            Err(e) => Some(format!("the host answered the check with a malformed message: {e}")),
        },
        Err(message) => Some(message),
    }
}
