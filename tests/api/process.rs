//! The gateway as its own process (the built `cur-gateway` binary), for what only a process
//! shows: signals, exit codes, its log lines.
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A running `cur-gateway serve`, killed on drop.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
    /// Every line it printed (JSON when started with `CUR_LOG_FORMAT=json`).
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `serve` with `env` (JSON logs, a free port) and waits until it listens.
    pub fn serve(env: &[(&str, String)]) -> Process {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cur-gateway"));
        cmd.arg("serve")
            .env("CUR_LISTEN", "127.0.0.1:0")
            .env("CUR_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start cur-gateway");
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for stream in streams {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    logs.lock().expect("lock").push(line);
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            let found = logs.lock().expect("lock").iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["message"] == "cur-gateway listening")
                    .then(|| v["addr"].as_str()?.parse().ok())?
            });
            if let Some(addr) = found {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("cur-gateway exited with {status}: {:#?}", logs.lock().expect("lock"));
            }
            assert!(started.elapsed() < Duration::from_secs(30), "cur-gateway did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Process { child, addr, logs }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it at once (SIGKILL: a crash, nothing cleaned up).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, as an orchestrator stopping a replica does.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The log lines printed so far, parsed (lines that are not JSON are left out).
    pub fn json_logs(&self) -> Vec<Value> {
        self.logs
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
