//! Components (the WebAssembly Component Model, WASI 0.2) as actors, next to waPC modules.
//!
//! A component gets WASI 0.2 from wasmtime-wasi with nothing granted: no preopened directories, no
//! environment or arguments, no sockets or name lookups; stdout and stderr go to the host log like
//! a waPC guest's console, within the same budget. It is served through the exports it has:
//!
//! * `wasi:http/incoming-handler`: the `HttpServer.HandleRequest` operation of the HTTP server
//!   contract. The request the HTTP server provider sends is turned into a `wasi:http` incoming
//!   request, and the response the component writes into the contract's `HttpResponse`, so an HTTP
//!   component is linked, routed, limited and traced exactly like a waPC HTTP actor.
//!
//! Why map onto the contracts here, in the runtime, rather than in the host: the host and every
//! provider keep seeing one kind of actor (an operation in, bytes out), so links, routes, local
//! dispatch, deadlines, metrics and traces need no second path.
//!
//! It imports, besides WASI 0.2 and `wasi:http/types`, what `proto/wit/world.wit` lists, each
//! mapped onto the lattice in a module of its own: `wasi:keyvalue` onto the keyvalue contract
//! through the actor's links (keyvalue.rs), `wasi:logging` onto the host log (logging.rs),
//! `wasi:config/store` onto the actor's config (config.rs); its outgoing `wasi:http` requests go out
//! only where the host allows (outgoing.rs).

mod bindings;
mod config;
mod keyvalue;
mod logging;
mod outgoing;

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use wasmtime::component::types::{ComponentExtern, ComponentItem};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::abi::{Violation, cap_memory};
use crate::contracts::{Header, HttpRequest, HttpResponse};
use crate::error::{Error, Result};
use crate::guest_io::GuestIo;
use crate::host::{HostCall, HostCallFuture};
use crate::module_check::ItemInfo;

/// The export through which a component serves HTTP (any 0.2.x version).
pub(crate) const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// The interfaces wasmesh provides to components, for the error that names an import it does not.
const PROVIDED: &str = "WASI 0.2 (wasi:cli, wasi:clocks, wasi:random, wasi:io, wasi:filesystem and wasi:sockets with nothing granted), wasi:http 0.2 (types, outgoing-handler), wasi:keyvalue@0.2.0-draft (store, atomics, batch), wasi:logging@0.1.0-draft and wasi:config@0.2.0-draft";

/// Per-invocation store data of a component.
pub(crate) struct ComponentState {
    /// The embedder, and the guest's log on its way there.
    pub io: GuestIo,
    pub violation: Option<Violation>,
    max_memory: u64,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outgoing: outgoing::Outgoing,
    /// The actor's config, once the guest asked for it in this invocation.
    config: Option<BTreeMap<String, String>>,
}

impl ComponentState {
    pub(crate) fn new(mut io: GuestIo, max_memory: u64) -> Self {
        let (out, err) = io.stdio();
        let wasi = WasiCtxBuilder::new()
            .stdout(out)
            .stderr(err)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let outgoing = outgoing::Outgoing { host: io.host.clone(), invocation: io.invocation };
        let table = ResourceTable::new();
        Self { io, violation: None, max_memory, table, wasi, http: WasiHttpCtx::new(), outgoing, config: None }
    }

    /// A host call made for the guest, answered by the embedder as a waPC guest's `__host_call`.
    fn host_call(&self, binding: &str, namespace: &str, operation: &str, payload: Vec<u8>) -> HostCallFuture {
        self.io.host.host_call(HostCall {
            invocation: self.io.invocation,
            binding: binding.to_owned(),
            namespace: namespace.to_owned(),
            operation: operation.to_owned(),
            payload,
        })
    }
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for ComponentState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outgoing }
    }
}

impl ResourceLimiter for ComponentState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        cap_memory(self.max_memory, desired, &mut self.violation)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The linker of component actors: WASI 0.2, wasi:http and the interfaces of `proto/wit/world.wit`.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<ComponentState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::ComponentHost::add_to_linker::<_, wasmtime::component::HasSelf<ComponentState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Links `component` and checks it has an export wasmesh serves; the error names the import it
/// cannot provide or the export it lacks.
pub(crate) fn prepare(linker: &Linker<ComponentState>, component: &Component) -> Result<ProxyPre<ComponentState>> {
    let pre = linker.instantiate_pre(component).map_err(|e| Error::InvalidModule {
        message: format!("{e:#}; wasmesh provides {PROVIDED}"),
    })?;
    ProxyPre::new(pre).map_err(|e| Error::MissingExport {
        name: INCOMING_HANDLER.to_owned(),
        message: format!(
            "the component does not serve HTTP ({e:#}): a component actor must export `{INCOMING_HANDLER}` (wasi:http 0.2)"
        ),
    })
}

/// The imports and exports of a component for `inspect`: interface names (with their versions)
/// and what kind of item each is.
pub(crate) fn items(engine: &Engine, component: &Component) -> (Vec<ItemInfo>, Vec<ItemInfo>) {
    let ty = component.component_type();
    let describe = |(name, item): (&str, ComponentExtern<'_>)| ItemInfo {
        module: String::new(),
        name: name.to_owned(),
        ty: match item.ty {
            ComponentItem::ComponentFunc(_) => "func",
            ComponentItem::CoreFunc(_) => "core func",
            ComponentItem::Module(_) => "module",
            ComponentItem::Component(_) => "component",
            ComponentItem::ComponentInstance(_) => "instance",
            ComponentItem::Type(_) => "type",
            ComponentItem::Resource(_) => "resource",
        }
        .to_owned(),
    };
    (ty.imports(engine).map(describe).collect(), ty.exports(engine).map(describe).collect())
}

/// Serves one `HttpServer.HandleRequest` call with the component's `wasi:http/incoming-handler`:
/// `payload` is the contract's `HttpRequest`, the answer its `HttpResponse`, whose body may not
/// exceed `max_response` bytes. Returns once the response's body is complete, even if the guest
/// goes on running (what it does after answering is cut off with the instance).
pub(crate) async fn serve_http(
    pre: &ProxyPre<ComponentState>,
    store: &mut wasmtime::Store<ComponentState>,
    payload: &[u8],
    max_response: u64,
) -> wasmtime::Result<Vec<u8>> {
    let request = incoming_request(payload).map_err(wasmtime::Error::new)?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let (req, out) = {
        let mut http = store.data_mut().http();
        (http.new_incoming_request(Scheme::Http, request)?, http.new_response_outparam(sender)?)
    };
    let proxy = pre.instantiate_async(&mut *store).await?;
    let guest = proxy.wasi_http_incoming_handler().call_handle(&mut *store, req, out);
    let response = response_of(receiver, max_response);
    tokio::pin!(guest, response);
    let mut guest_returned = false;
    loop {
        tokio::select! {
            biased;
            r = &mut guest, if !guest_returned => {
                r?;
                guest_returned = true;
            }
            r = &mut response => return r,
        }
    }
}

/// The contract's `HttpRequest` as a `wasi:http` request (authority from its `host` header).
fn incoming_request(payload: &[u8]) -> Result<http::Request<http_body_util::combinators::BoxBody<Bytes, Infallible>>> {
    let bad = |what: String| Error::BadRequest { message: format!("{what} (in the HttpServer.HandleRequest payload)") };
    let req = HttpRequest::decode(payload).map_err(|e| bad(format!("not an HttpRequest: {e}")))?;
    let authority = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map_or("localhost", |h| h.value.as_str())
        .to_owned();
    let path = if req.path.is_empty() { "/" } else { req.path.as_str() };
    let uri = if req.query.is_empty() {
        format!("http://{authority}{path}")
    } else {
        format!("http://{authority}{path}?{}", req.query)
    };
    let mut builder = http::Request::builder().method(req.method.as_str()).uri(uri);
    for Header { name, value } in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(Bytes::from(req.body)).boxed()).map_err(|e| bad(format!("not a valid HTTP request: {e}")))
}

/// Waits for the response the guest sets and reads its body into the contract's `HttpResponse`.
async fn response_of(
    receiver: tokio::sync::oneshot::Receiver<std::result::Result<http::Response<HyperOutgoingBody>, ErrorCode>>,
    max_response: u64,
) -> wasmtime::Result<Vec<u8>> {
    let response = match receiver.await {
        Ok(Ok(r)) => r,
        Ok(Err(code)) => {
            return Err(wasmtime::Error::new(Error::GuestError { message: format!("the component answered with error {code:?}") }));
        }
        Err(_) => {
            return Err(wasmtime::Error::new(Error::Protocol {
                message: "the component returned from wasi:http/incoming-handler.handle without setting a response".into(),
            }));
        }
    };
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            wasmtime::Error::new(Error::GuestError { message: format!("the component's response body failed: {e}") })
        })?;
        if let Ok(data) = frame.into_data() {
            let size = (bytes.len() + data.len()) as u64;
            if size > max_response {
                return Err(wasmtime::Error::new(Error::ResponseTooLarge { size, limit: max_response }));
            }
            bytes.extend_from_slice(&data);
        }
    }
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| Header { name: name.as_str().to_owned(), value: String::from_utf8_lossy(value.as_bytes()).into_owned() })
        .collect();
    Ok(HttpResponse { status: u32::from(parts.status.as_u16()), headers, body: bytes }.encode_to_vec())
}
