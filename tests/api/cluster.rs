//! A Postgres cluster of a test's own on a spare port (initdb, pg_ctl), which the test may
//! stop, start and copy into a streaming replica — unlike the shared server on 5432.
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

/// The server binaries of the newest installed PostgreSQL (Debian's layout).
fn bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a server binary, as the `postgres` user when the tests run as root (the server
/// refuses to run as root).
fn run(bin: &Path, args: &[&str]) {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free TCP port on 127.0.0.1.
pub fn spare_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a spare port");
    listener.local_addr().expect("address").port()
}

/// A running cluster in a temporary directory, stopped and removed on drop.
pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

fn fresh_dir(kind: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cur-{kind}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster directory");
    if is_root() {
        let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status();
        assert!(status.is_ok_and(|s| s.success()), "chown the cluster directory");
    }
    dir
}

impl PgCluster {
    /// Initializes and starts a cluster (trust auth, replication allowed from 127.0.0.1).
    pub fn start() -> PgCluster {
        let bin = bindir();
        let dir = fresh_dir("pg");
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        run(
            &bin.join("initdb"),
            &["-D", &data_s, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        );
        let cluster = PgCluster { port: spare_port(), dir, bin };
        cluster.configure(&data, "");
        cluster.start_again();
        cluster
    }

    /// A streaming replica of this cluster on a port of its own (pg_basebackup -R).
    pub fn replica(&self) -> PgCluster {
        let dir = fresh_dir("pg-replica");
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        let port = self.port.to_string();
        run(
            &self.bin.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data_s,
                "-R",
                "-X",
                "stream",
                // At once, not after a spread checkpoint (minutes on an idle server).
                "--checkpoint=fast",
            ],
        );
        let replica = PgCluster { port: spare_port(), dir, bin: self.bin.clone() };
        replica.configure(&data, "hot_standby = on\n");
        replica.start_again();
        replica
    }

    fn configure(&self, data: &Path, extra: &str) {
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             max_connections = 60\nwal_level = replica\nmax_wal_senders = 4\n{extra}",
            self.port,
            self.dir.display()
        );
        let path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).expect("postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&path, text).expect("write postgresql.conf");
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let mut all = vec!["-D", &data, "-l", &log];
        all.extend_from_slice(args);
        run(&self.bin.join("pg_ctl"), &all);
    }

    /// Starts the stopped cluster and waits until it accepts connections.
    pub fn start_again(&self) {
        self.pg_ctl(&["-w", "-t", "60", "start"]);
    }

    /// Stops the cluster the way an administrator's restart does (fast: sessions are ended).
    pub fn stop(&self) {
        self.pg_ctl(&["-w", "-t", "60", "-m", "fast", "stop"]);
    }

    /// Runs SQL through psql as the superuser.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Database `cur` on this cluster, migrated and seeded with a region of `complaints`
    /// complaints and `staff` officials (seed 7).
    pub async fn seeded(&self, complaints: u64, staff: u32) -> crate::helpers::TestDb {
        self.psql("postgres", "CREATE DATABASE cur");
        let db = crate::helpers::TestDb::at(&self.url("cur")).await;
        let opts = cur_gateway::seed::SeedOptions { complaints, seed: 7, staff, progress: false };
        cur_gateway::seed::run(&db.db, &opts).await.expect("seed");
        db
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
