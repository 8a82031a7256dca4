//! The JS side of an actor's host calls and logs, as a [`wasmesh_runtime::Host`].

use std::sync::Arc;

use wasmesh_runtime as rt;

use crate::dispatch::Dispatch;

/// Host calls and logs go to JS through the runtime's [`Dispatch`] queues, batched with the
/// invocation outcomes: a host call crossing on its own (a threadsafe function call per call and
/// a JS promise that napi watches) cost more than the call it carried.
pub(crate) struct JsHost {
    /// Whether JS handles this actor's host calls; without a handler they fail as with `NoHost`.
    pub(crate) handles_calls: bool,
    pub(crate) dispatch: Arc<Dispatch>,
}

impl rt::Host for JsHost {
    fn host_call(&self, call: rt::HostCall) -> rt::HostCallFuture {
        if !self.handles_calls {
            return rt::NoHost.host_call(call);
        }
        let dispatch = self.dispatch.clone();
        // JS invocation ids are u32 (see Dispatch); the runtime carries them as u64.
        Box::pin(async move { dispatch.host_call(call.invocation as u32, call).await })
    }

    fn log(&self, invocation: u64, level: rt::LogLevel, line: String) {
        self.dispatch.log(invocation as u32, level, line);
    }
}
