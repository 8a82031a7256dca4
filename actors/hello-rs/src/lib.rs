//! hello, in Rust: a WebAssembly component serving `wasi:http/incoming-handler` with the WASI
//! project's bindings, as any Rust wasi:http component is written. It answers as the other hello
//! examples do: the last path segment is the name, `GET /hello/Ada` -> `Hello, Ada!`.

use std::io::Write as _;

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

wasip2::http::proxy::export!(Hello);

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default();
        let name = path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("World");
        let headers = Fields::from_list(&[("content-type".to_owned(), b"text/plain; charset=utf-8".to_vec())])
            .expect("a valid header");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the response's body");
        ResponseOutparam::set(response_out, Ok(response));
        let mut out = body.write().expect("the body's stream");
        out.write_all(format!("Hello, {name}!\n").as_bytes()).expect("write the body");
        out.flush().expect("flush the body");
        drop(out);
        OutgoingBody::finish(body, None).expect("finish the body");
    }
}
