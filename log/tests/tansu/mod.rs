//! A private tansu broker for tests that stop and restart their broker: the binary `ci/kafka.sh`
//! installs (`$TANSU_ROOT/bin/tansu`, default `/var/cache/lrs-ci/tansu/bin/tansu`), started the
//! same way (SQLite storage, loopback), on a free port and in a temporary directory of its own.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `ci/kafka.sh` installs tansu.
fn binary() -> PathBuf {
    let root = std::env::var_os("TANSU_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/lrs-ci/tansu"));
    root.join("bin/tansu")
}

/// A tansu broker this test owns: its port and SQLite directory outlive restarts.
pub struct Tansu {
    binary: PathBuf,
    port: u16,
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
}

impl Tansu {
    /// Starts a broker, or returns `None` (after saying why) when the binary is missing and no
    /// Kafka test run was asked for (`LRS_TEST_KAFKA` unset). When `LRS_TEST_KAFKA` is set the
    /// broker tests are expected to run, so a missing binary fails the test.
    pub fn start(test: &str) -> Option<Tansu> {
        let binary = binary();
        if !binary.is_file() {
            let hint = format!(
                "{test}: needs the tansu binary at {} (run ci/kafka.sh once, or set TANSU_ROOT)",
                binary.display()
            );
            assert!(std::env::var_os("LRS_TEST_KAFKA").is_none(), "{hint}");
            eprintln!("{hint}; skipped");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut tansu = Tansu {
            binary,
            port,
            dir: Some(
                tempfile::Builder::new()
                    .prefix("lrs-tansu-test")
                    .tempdir()
                    .expect("temporary directory"),
            ),
            child: None,
        };
        tansu.restart();
        Some(tansu)
    }

    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("directory").path()
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL: no orderly shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen process dies of SIGKILL too; thawing first keeps its exit prompt.
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(child.id().to_string())
                .status();
            child.kill().expect("kill tansu");
            child.wait().expect("wait for tansu");
        }
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen broker run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running tansu");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} tansu: {status}");
    }

    /// Starts the broker again on the same port and SQLite database, and waits until it listens.
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join("tansu.log"))
            .expect("tansu log");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        // tansu reads the path of a sqlite:// URL relative to its working directory.
        let child = Command::new(&self.binary)
            .current_dir(self.dir())
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("tansu log"))
            .stderr(log)
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on port {} within 10 s; its log is in {}",
                self.port,
                self.dir().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!(
                "tansu's database and log are kept in {}",
                dir.keep().display()
            );
        }
    }
}
