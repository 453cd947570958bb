//! Benchmark: how long a kill takes to reach a fleet. Starts a throw-away
//! PostgreSQL cluster and `killswitch serve --source` replicas, puts an
//! OFREP load on them, then runs `killswitch kill` N times and measures,
//! for each, the time from the command returning to every replica serving
//! the off value (then `unkill`s, unmeasured).
//!
//! ```sh
//! cargo build --release -p killswitch-cli
//! cargo run --release -p killswitch-fleet --example kill_propagation -- \
//!     --bin target/release/killswitch [--kills 50] [--rate 5000] [--replicas 3] [--poll-only]
//!     [--poll-ms 1000] [--probe-gap-us 200] [--db-cpu N]
//! ```
//! (`benches/fleet/kill_propagation.sh` runs both modes.) Needs PostgreSQL's
//! binaries (Debian: `apt-get install postgresql`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/support/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CONFIG: &str = r#"[
  {"flag_key": "checkout_v2", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "search", "enabled": true, "rollout_percentage": 50}
]"#;
const BODY: &str = r#"{"context": {"targetingKey": "user_123"}}"#;

struct Args {
    bin: String,
    kills: usize,
    rate: u64,
    replicas: usize,
    poll_only: bool,
    poll_ms: u64,
    probe_gap_us: u64,
    db_cpu: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        bin: "target/release/killswitch".into(),
        kills: 50,
        rate: 5000,
        replicas: 3,
        poll_only: false,
        poll_ms: 1000,
        probe_gap_us: 200,
        db_cpu: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin" => a.bin = it.next().unwrap(),
            "--kills" => a.kills = it.next().unwrap().parse().unwrap(),
            "--rate" => a.rate = it.next().unwrap().parse().unwrap(),
            "--replicas" => a.replicas = it.next().unwrap().parse().unwrap(),
            "--poll-ms" => a.poll_ms = it.next().unwrap().parse().unwrap(),
            "--poll-only" => a.poll_only = true,
            "--probe-gap-us" => a.probe_gap_us = it.next().unwrap().parse().unwrap(),
            "--db-cpu" => a.db_cpu = Some(it.next().unwrap().parse().unwrap()),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &Args, url: &str) -> Replica {
    let mut cmd = Command::new(&args.bin);
    cmd.args(["serve", "--source", url, "--listen", "127.0.0.1:0"])
        .args(["--poll-ms", &args.poll_ms.to_string()]);
    if args.poll_only {
        cmd.arg("--no-listen");
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("serve exited").unwrap();
        if let Some(rest) = line.strip_prefix("serve: listening on http://") {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining its log.
    let port = addr.port();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if std::env::var_os("BENCH_LOG").is_some() {
                eprintln!(
                    "{:?} replica {port}: {line}",
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                );
            }
        }
    });
    Replica { child, addr }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A replica's `/readyz` answer, for a failure message.
fn readyz(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Conn {
            addr,
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    /// POSTs an evaluation of `checkout_v2`; true when it is served on.
    fn evaluate(&mut self) -> bool {
        write!(
            self.writer,
            "POST /ofrep/v1/evaluate/flags/checkout_v2 HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\n\r\n{BODY}",
            BODY.len()
        )
        .unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        body.contains("\"value\":true")
    }
}

/// Pins the cluster's postmaster (and so every backend it forks later) to
/// one CPU, as if the database had a host of its own; run the benchmark
/// itself with `taskset` on the other CPUs.
fn pin_database(pg: &pg::Cluster, cpu: usize) {
    // The checkpointer lives as long as the server; its parent is the
    // postmaster.
    let out = pg.psql(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    );
    let child = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().parse::<u32>().ok())
        .expect("the checkpointer's pid");
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    let postmaster = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .to_string();
    let ok = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &postmaster])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "taskset could not pin the database to CPU {cpu}");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args = args();
    let Some(pg) = pg::Cluster::start("bench") else {
        std::process::exit(2);
    };
    let url = pg.url("postgres");
    if let Some(cpu) = args.db_cpu {
        pin_database(&pg, cpu);
    }
    let dir = std::env::temp_dir().join(format!("killswitch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("flags.json"), CONFIG).unwrap();
    let run = |a: &[&str]| {
        let out = Command::new(&args.bin)
            .args(a)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["publish", "flags.json", "--to", &url, "--message", "bench"]);
    let replicas: Vec<Replica> = (0..args.replicas).map(|_| spawn(&args, &url)).collect();

    // The load: paced requests over keep-alive connections, spread evenly.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let workers_per_replica = 4;
    let workers = replicas.len() * workers_per_replica;
    let interval = Duration::from_secs_f64(workers as f64 / args.rate as f64);
    let load: Vec<_> = (0..workers)
        .map(|i| {
            let addr = replicas[i % replicas.len()].addr;
            let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    conn.evaluate();
                    sent.fetch_add(1, Ordering::Relaxed);
                    next += interval;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else if now - next > Duration::from_millis(100) {
                        next = now; // behind: do not burst to catch up
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));

    let mut probes: Vec<Conn> = replicas.iter().map(|r| Conn::new(r.addr)).collect();
    let load_start = Instant::now();
    let sent_start = sent.load(Ordering::Relaxed);
    let mut times = Vec::with_capacity(args.kills);
    let probe_gap = Duration::from_micros(args.probe_gap_us);
    for i in 0..args.kills {
        // Kills at varied moments, not in step with the replicas' polls.
        let phase = (i * 37 % 50) as u64;
        std::thread::sleep(Duration::from_millis(args.poll_ms * phase / 50));
        run(&[
            "kill",
            "checkout_v2",
            "--to",
            &url,
            "--message",
            &format!("bench {i}"),
        ]);
        let returned = Instant::now();
        if std::env::var_os("BENCH_LOG").is_some() {
            eprintln!(
                "{:?} kill {i} returned",
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
            );
        }
        // Each replica probed on its own thread, so none waits for another.
        let worst = std::thread::scope(|s| {
            let handles: Vec<_> = probes
                .iter_mut()
                .map(|probe| {
                    s.spawn(move || {
                        while probe.evaluate() {
                            if returned.elapsed() > Duration::from_secs(30) {
                                panic!("never killed: {}", readyz(probe.addr));
                            }
                            // Probing is part of the load: by default
                            // about 5,000 requests/s per replica, not a
                            // spin (`--probe-gap-us 0`: back to back).
                            if probe_gap > Duration::ZERO {
                                std::thread::sleep(probe_gap);
                            }
                        }
                        let took = returned.elapsed();
                        if std::env::var_os("BENCH_LOG").is_some() {
                            eprintln!(
                                "{:?} kill {i} seen on {} after {took:?}",
                                SystemTime::now()
                                    .duration_since(UNIX_EPOCH)
                                    .unwrap_or_default(),
                                probe.addr.port()
                            );
                        }
                        took
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        times.push(worst);
        run(&[
            "unkill",
            "checkout_v2",
            "--to",
            &url,
            "--message",
            &format!("bench {i} over"),
        ]);
        for probe in &mut probes {
            while !probe.evaluate() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let elapsed = load_start.elapsed().as_secs_f64();
    let rate = (sent.load(Ordering::Relaxed) - sent_start) as f64 / elapsed;
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = percentile(&times, 0.5);
    println!(
        "mode={} replicas={} kills={} load={:.0} req/s (asked {}): median {:.1} ms, p99 {:.1} ms, worst {:.1} ms",
        if args.poll_only {
            format!("poll-only({} ms)", args.poll_ms)
        } else {
            "listen/notify".to_string()
        },
        args.replicas,
        args.kills,
        rate,
        args.rate,
        ms(median),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap()),
    );
    drop(replicas);
    let _ = std::fs::remove_dir_all(&dir);
}
