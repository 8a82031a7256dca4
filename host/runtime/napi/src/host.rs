//! The JS side of an actor's host calls and logs, as a [`wasmesh_runtime::Host`].

use std::sync::Arc;

use napi::Status;
use napi::bindgen_prelude::{Buffer, FnArgs, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use wasmesh_runtime as rt;

use crate::dispatch::Dispatch;

/// JS `(invocation, binding, namespace, operation, payload) => Promise<Buffer>`, where
/// `invocation` is the id JS gave the call that made this host call. It never throws
/// synchronously (the TS side wraps it in an async function). Weak: it does not keep Node alive.
pub(crate) type HostCallFn = ThreadsafeFunction<
    FnArgs<(u32, String, String, String, Buffer)>,
    Promise<Buffer>,
    FnArgs<(u32, String, String, String, Buffer)>,
    Status,
    false,
    true,
>;


/// Host calls forwarded to a JS callback; logs queued for JS with the invocation outcomes.
pub(crate) struct JsHost {
    pub(crate) call: Option<Arc<HostCallFn>>,
    pub(crate) dispatch: Arc<Dispatch>,
}

impl rt::Host for JsHost {
    fn host_call(&self, call: rt::HostCall) -> rt::HostCallFuture {
        let Some(f) = self.call.clone() else { return rt::NoHost.host_call(call) };
        // JS invocation ids are u32 (see Dispatch); the runtime carries them as u64.
        let args = FnArgs::from((
            call.invocation as u32,
            call.binding,
            call.namespace,
            call.operation,
            Buffer::from(call.payload),
        ));
        Box::pin(async move {
            let promise = f.call_async(args).await.map_err(|e| e.reason.clone())?;
            let out = promise.await.map_err(|e| e.reason.clone())?;
            Ok(out.to_vec())
        })
    }

    fn log(&self, invocation: u64, level: rt::LogLevel, line: String) {
        self.dispatch.log(invocation as u32, level, line);
    }
}
