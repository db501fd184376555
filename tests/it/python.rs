//! The Python package (python/): installed with one `pip install` into a
//! virtual environment under target/, then its pytest suite (the API
//! against this binary's files, errors, Ctrl-C, threads) and the example
//! notebook, run headless.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A venv with the pinned test requirements, made once and remade when
/// the requirements change.
fn venv(root: &Path) -> PathBuf {
    let dir = root.join("target/python-venv");
    let reqs = root.join("python/requirements-test.txt");
    let want = std::fs::read_to_string(&reqs).expect("python/requirements-test.txt");
    let stamp = dir.join("requirements.stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        let _ = std::fs::remove_dir_all(&dir);
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            "python3 -m venv (Python 3.9 or newer with venv is needed)",
        );
        run(
            Command::new(dir.join("bin/pip"))
                .args(["install", "-q", "-r"])
                .arg(&reqs),
            "pip install -r python/requirements-test.txt",
        );
        std::fs::write(&stamp, want).expect("write the venv stamp");
    }
    dir
}

#[test]
fn python_package_installs_and_its_tests_and_notebook_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = venv(root);
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The one install command of the README; its own target folder, so it
    // never waits on the lock of the build that runs this test.
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--no-build-isolation", "./python"])
            .current_dir(root)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", root.join("target/python-build")),
        "pip install ./python",
    );
    run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "python/tests",
            ])
            .current_dir(root)
            .env("PATH", &path)
            .env("EYESIM_BIN", env!("CARGO_BIN_EXE_eyesim")),
        "pytest python/tests",
    );
}
