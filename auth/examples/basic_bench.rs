//! Measures Basic authentications per second through `Authenticator::authenticate`
//! (header decoding, table lookup, salted SHA-256, principal clone), on one thread and on all.
//!
//! `cargo run --release -p lrs-auth --example basic_bench`

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lrs_auth::{AuthConfig, Authenticator, CredentialFile, Scopes};

const ITERATIONS: u32 = 200_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scopes = Scopes::parse_list("statements/write statements/read/mine").expect("scopes");
    // A realistic table: many tools, one being measured.
    for i in 0..200 {
        CredentialFile::create(dir.path(), &format!("board-{i}"), &scopes, None).expect("create");
    }
    let (key, secret) =
        CredentialFile::create(dir.path(), "131016", &scopes, Some("bench tool")).expect("create");
    let auth = Authenticator::new(dir.path(), AuthConfig::new("https://lrs.example.jp/"))
        .expect("authenticator");
    let header = format!("Basic {}", STANDARD.encode(format!("{key}:{secret}")));

    let run = |auth: &Authenticator| {
        for _ in 0..ITERATIONS {
            let principal = auth.authenticate(Some(&header)).expect("authenticates");
            std::hint::black_box(principal);
        }
    };

    let start = Instant::now();
    run(&auth);
    let elapsed = start.elapsed();
    println!(
        "1 thread: {:.0} Basic authentications/s ({:.2} µs each)",
        f64::from(ITERATIONS) / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / f64::from(ITERATIONS)
    );

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| run(&auth));
        }
    });
    let elapsed = start.elapsed();
    println!(
        "{threads} threads: {:.0} Basic authentications/s",
        f64::from(ITERATIONS) * threads as f64 / elapsed.as_secs_f64()
    );
}
