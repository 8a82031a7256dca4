//! `wascap-interop sign IN OUT ISSUER_SEED [--expires-days N]` signs a module with wascap, with a
//! fresh module key as subject; `wascap-interop verify IN` extracts and validates its claims with
//! wascap and prints them as JSON (exit 0 only when the hash, signature and dates are valid).
use std::{env, fs, process::ExitCode};

use nkeys::KeyPair;
use wascap::jwt::{validate_token, Claims, Component};
use wascap::wasm::{days_from_now_to_jwt_time, embed_claims, extract_claims};

fn sign(args: &[String]) -> Result<(), String> {
    let [input, output, seed_file, rest @ ..] = args else {
        return Err("usage: sign IN OUT ISSUER_SEED_FILE [--expires-days N]".into());
    };
    let expires_days = match rest {
        [] => None,
        [flag, n] if flag == "--expires-days" => Some(n.parse::<u64>().map_err(|e| e.to_string())?),
        _ => return Err("unexpected arguments".into()),
    };
    let seed = fs::read_to_string(seed_file).map_err(|e| e.to_string())?;
    let issuer = KeyPair::from_seed(seed.trim()).map_err(|e| e.to_string())?;
    let module = KeyPair::new_module();
    let claims = Claims::<Component>::with_dates(
        "wascap-signed".to_string(),
        issuer.public_key(),
        module.public_key(),
        Some(vec!["interop".to_string()]),
        None,
        days_from_now_to_jwt_time(expires_days),
        false,
        Some(7),
        Some("1.2.3".to_string()),
        None,
    );
    let wasm = fs::read(input).map_err(|e| e.to_string())?;
    let signed = embed_claims(&wasm, &claims, &issuer).map_err(|e| e.to_string())?;
    fs::write(output, signed).map_err(|e| e.to_string())?;
    println!("{}", module.public_key());
    Ok(())
}

fn verify(args: &[String]) -> Result<bool, String> {
    let [input] = args else {
        return Err("usage: verify IN".into());
    };
    let wasm = fs::read(input).map_err(|e| e.to_string())?;
    let token = match extract_claims(&wasm) {
        Ok(Some(token)) => token,
        Ok(None) => {
            println!("{}", serde_json::json!({ "signed": false }));
            return Ok(false);
        }
        Err(e) => {
            println!("{}", serde_json::json!({ "signed": true, "error": e.to_string() }));
            return Ok(false);
        }
    };
    let v = validate_token::<Component>(&token.jwt).map_err(|e| e.to_string())?;
    let meta = token.claims.metadata.clone().unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "signed": true,
            "issuer": token.claims.issuer,
            "subject": token.claims.subject,
            "hash": meta.module_hash,
            "name": meta.name,
            "ver": meta.ver,
            "rev": meta.rev,
            "tags": meta.tags,
            "signatureValid": v.signature_valid,
            "expired": v.expired,
            "cannotUseYet": v.cannot_use_yet,
        })
    );
    Ok(v.signature_valid && !v.expired && !v.cannot_use_yet)
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((cmd, rest)) if cmd == "sign" => sign(rest).map(|()| true),
        Some((cmd, rest)) if cmd == "verify" => verify(rest),
        _ => Err("usage: wascap-interop sign|verify …".into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("wascap-interop: {e}");
            ExitCode::from(2)
        }
    }
}
