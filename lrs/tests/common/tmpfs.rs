//! A small tmpfs for the full-disk tests: mounted on a fresh directory, unmounted when dropped.
//! Needs root; without it a test says it was skipped, except under `CI=true`, where it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `64m`), or `None` after saying why `test` is skipped.
    pub fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match mounted {
            Ok(status) if status.success() => Some(Tmpfs { dir }),
            other if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("{test}: mounting a tmpfs failed ({other:?}); CI runs as root")
            }
            other => {
                eprintln!("{test}: skipped, mounting a tmpfs failed ({other:?}; needs root)");
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte; returns the filler file.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..1]).is_ok() {}
        let _ = file.sync_all();
        path
    }

    /// Fills the file system but for `free` bytes; returns the filler file.
    pub fn fill_leaving(&self, free: u64) -> PathBuf {
        let path = self.fill();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(free)).unwrap();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
