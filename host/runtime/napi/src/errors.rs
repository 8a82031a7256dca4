//! The one place where runtime errors become JS errors: a JS `Error` whose message is a JSON
//! object `{code, message, ...fields}`, parsed by `host/src/runtime/errors.ts`.

use napi::{Error as NapiError, Status};
use wasmesh_runtime as rt;

/// Converts a runtime error into the JS error the TS layer parses.
pub(crate) fn to_js(e: rt::Error) -> NapiError {
    let mut fields = vec![
        ("code".to_owned(), json_str(e.code())),
        ("message".to_owned(), json_str(&e.to_string())),
    ];
    let mut put = |k: &str, v: String| fields.push((k.to_owned(), v));
    match &e {
        rt::Error::Trap { trap_code, backtrace, .. } => {
            put("trapCode", json_str(trap_code));
            if let Some(b) = backtrace {
                put("backtrace", json_str(b));
            }
        }
        rt::Error::Timeout { timeout, queued } => {
            put("timeoutMs", timeout.as_millis().to_string());
            put("queued", queued.to_string());
        }
        rt::Error::MemoryLimit { limit_bytes, requested_bytes } => {
            put("limitBytes", limit_bytes.to_string());
            put("requestedBytes", requested_bytes.to_string());
        }
        rt::Error::HostCallFailed { target, host_message, guest_message } => {
            put("target", json_str(target));
            put("hostMessage", json_str(host_message));
            put("guestMessage", json_str(guest_message));
        }
        rt::Error::GuestError { message } => put("guestMessage", json_str(message)),
        rt::Error::UnknownOperation { operation, message } => {
            put("operation", json_str(operation));
            put("guestMessage", json_str(message));
        }
        rt::Error::MissingExport { name, .. } => put("export", json_str(name)),
        rt::Error::ResponseTooLarge { size, limit } => {
            put("size", size.to_string());
            put("limit", limit.to_string());
        }
        rt::Error::FuelExhausted { fuel } => put("fuel", fuel.to_string()),
        _ => {}
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", json_str(k))).collect();
    NapiError::new(Status::GenericFailure, format!("{{{}}}", body.join(",")))
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
