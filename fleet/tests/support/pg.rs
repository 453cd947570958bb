//! A throw-away PostgreSQL cluster for tests: `initdb` in a temporary
//! directory, `pg_ctl start` on a free loopback port (password
//! authentication over TCP), stopped and deleted on drop. Found under
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package) or in
//! `KILLSWITCH_PG_BIN`. As root, the server runs as the `postgres` user.
//!
//! Without the binaries, [`Cluster::start`] returns `None` and the test
//! is skipped with a message, unless `CI` is set: then it fails.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The password of the test superuser (never to appear in any output).
pub const PASSWORD: &str = "pw-Xy7-never-shown";

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KILLSWITCH_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts a new cluster, or returns `None` (after saying why) when
    /// PostgreSQL is not installed and `CI` is not set.
    pub fn start(name: &str) -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is not installed (apt-get install postgresql); CI needs it");
            }
            eprintln!(
                "skipped: PostgreSQL is not installed (apt-get install postgresql, or set \
                 KILLSWITCH_PG_BIN to the directory of initdb and pg_ctl)"
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "killswitch-pg-{}-{name}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "cannot chown {}", dir.display());
        }
        let mut cluster = Cluster {
            bin,
            dir,
            port: free_port(),
            as_postgres,
            running: false,
        };
        let data = cluster.data();
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(&self.dir).output().unwrap()
    }

    /// Starts the server (again), on the same port.
    pub fn start_server(&mut self) {
        let data = self.data();
        let log = self.dir.join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
            );
            if out.status.success() {
                break;
            }
            // The port may be held a moment longer after a stop.
            assert!(
                Instant::now() < deadline,
                "pg_ctl start failed: {}\n{}",
                text(&out),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        self.running = true;
    }

    /// Stops the server (fast: open connections are closed).
    pub fn stop_server(&mut self) {
        let data = self.data();
        let out = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
        assert!(out.status.success(), "pg_ctl stop failed: {}", text(&out));
        self.running = false;
    }

    /// The URL of database `db` (created by [`Cluster::create_db`], or
    /// `postgres`), with the password.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs SQL with psql over the Unix socket (trusted locally).
    pub fn psql(&self, db: &str, sql: &str) -> Output {
        let host = self.dir.to_str().unwrap().to_string();
        let port = self.port.to_string();
        let psql = self.bin.join("psql");
        let psql = if psql.exists() {
            psql
        } else {
            Path::new("psql").to_path_buf()
        };
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&psql);
            c
        } else {
            Command::new(&psql)
        };
        cmd.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &host,
            "-p",
            &port,
        ])
        .args(["-U", "postgres", "-d", db, "-c", sql])
        .current_dir(&self.dir)
        .output()
        .unwrap()
    }

    pub fn create_db(&self, db: &str) {
        let out = self.psql("postgres", &format!("CREATE DATABASE {db}"));
        assert!(out.status.success(), "{}", text(&out));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
