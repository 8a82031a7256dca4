//! `wasi:logging/logging` (0.1.0-draft) to the host log, within the guest's log budget and rate
//! like its stdout: the level is kept, and a non-empty `context` prefixes the line.

use super::ComponentState;
use super::bindings::wasi::logging::logging::{Host, Level};
use crate::host::LogLevel;

impl Host for ComponentState {
    async fn log(&mut self, level: Level, context: String, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
            Level::Critical => LogLevel::Critical,
        };
        let line = if context.is_empty() { message } else { format!("{context}: {message}") };
        self.io.log(level, line);
        Ok(())
    }
}
