//! An open-loop HTTP/1.1 load generator for the service benchmarks: POSTs
//! one body at a fixed rate over keep-alive connections and reports the
//! latency of every request from the moment it was due to be sent, so a
//! slow answer also counts against the requests queued behind it (no
//! coordinated omission, unlike a closed loop such as wrk).
//!
//! ```sh
//! cargo run --release -p killswitch-server --example load -- \
//!     --addr 127.0.0.1:8016 --path /ofrep/v1/evaluate/flags/flag_10 \
//!     --body '{"context": {"targetingKey": "user-{n}"}}' --rate 10000 --secs 10 --conns 10 \
//!     [--header 'Authorization: Bearer t']
//! ```
//! `{n}` in the body becomes a running request number, so users vary.
//! Prints one line: the rate reached and p50/p90/p99/p99.9/max.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    path: String,
    body: String,
    headers: Vec<String>,
    rate: f64,
    secs: f64,
    conns: usize,
}

fn args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:8016".into(),
        path: "/".into(),
        body: String::new(),
        headers: Vec::new(),
        rate: 1000.0,
        secs: 10.0,
        conns: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().expect("a value after the option");
        match arg.as_str() {
            "--addr" => a.addr = value(),
            "--path" => a.path = value(),
            "--body" => a.body = value(),
            "--header" => a.headers.push(value()),
            "--rate" => a.rate = value().parse().unwrap(),
            "--secs" => a.secs = value().parse().unwrap(),
            "--conns" => a.conns = value().parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Sends one request and reads its answer (Content-Length framing);
/// returns the status code.
fn exchange(writer: &mut TcpStream, reader: &mut BufReader<TcpStream>, request: &[u8]) -> u16 {
    writer.write_all(request).unwrap();
    let mut status = 0;
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("the server closed the connection");
        }
        if status == 0 {
            status = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            continue;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    status
}

fn main() {
    let args = args();
    let interval = Duration::from_secs_f64(args.conns as f64 / args.rate);
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + Duration::from_secs_f64(args.secs);
    let workers: Vec<_> = (0..args.conns)
        .map(|w| {
            let (addr, path, body, headers) = (
                args.addr.clone(),
                args.path.clone(),
                args.body.clone(),
                args.headers.clone(),
            );
            let conns = args.conns;
            std::thread::spawn(move || {
                let stream = TcpStream::connect(&addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
                // Workers start spread over one interval.
                let mut due = start + interval.mul_f64(w as f64 / conns as f64);
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut n = w;
                while due < end {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let body = body.replace("{n}", &n.to_string());
                    n += conns;
                    let request = format!(
                        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let status = exchange(&mut writer, &mut reader, request.as_bytes());
                    if status != 200 {
                        errors += 1;
                    }
                    latencies.push(due.elapsed());
                    due += interval;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (latencies, e) = worker.join().unwrap();
        all.extend(latencies);
        errors += e;
    }
    all.sort();
    let at = |q: f64| {
        let i = ((all.len() as f64 - 1.0) * q).round() as usize;
        all[i].as_secs_f64() * 1000.0
    };
    let elapsed = (Instant::now().min(end + Duration::from_secs(5)) - start).as_secs_f64();
    println!(
        "{:.0} req/s ({} requests, {} not 200): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        all.len() as f64 / elapsed.max(args.secs),
        all.len(),
        errors,
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0),
    );
}
