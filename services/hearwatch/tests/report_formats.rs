//! The report's formats through the real binary, without services: every format of a
//! may-2025 replay is written whole, the workbook is the same bytes each time, and the
//! commands refuse what they cannot do before doing anything.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hearwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearwatch"))
        .args(args)
        .output()
        .expect("hearwatch runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearwatch-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn replay(events: &str, format: &str, output: &str) -> Output {
    hearwatch(&[
        "replay",
        "--events",
        events,
        "--as-of",
        "2025-07-01T00:00:00+05:00",
        "--month",
        "2025-05",
        "--format",
        format,
        "--output",
        output,
    ])
}

#[test]
fn every_format_of_a_replay_is_written_and_the_workbook_is_reproducible() {
    let dir = scratch("formats");
    let events = dir.join("may-2025.ndjson");
    let events = events.to_str().unwrap();
    let out = hearwatch(&["simulate", "--scenario", "may-2025", "--output", events]);
    assert!(out.status.success());
    for format in ["table", "json", "csv", "markdown", "html", "xlsx"] {
        let file = dir.join(format!("may.{format}"));
        let out = replay(events, format, file.to_str().unwrap());
        assert!(
            out.status.success(),
            "--format {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&file).unwrap();
        match format {
            // An xlsx file is a zip archive.
            "xlsx" => assert!(bytes.starts_with(b"PK\x03\x04")),
            "html" => assert!(String::from_utf8(bytes).unwrap().contains("</html>")),
            _ => assert!(String::from_utf8(bytes).unwrap().contains("Алматинская")),
        }
    }
    let again = dir.join("again.xlsx");
    assert!(replay(events, "xlsx", again.to_str().unwrap())
        .status
        .success());
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(dir.join("may.xlsx")).unwrap(),
        "the same numbers give the same workbook"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn xlsx_needs_an_output_file() {
    for args in [
        &["replay", "--events", "/nonexistent", "--format", "xlsx"][..],
        &["report", "--month", "2025-05", "--format", "xlsx"][..],
    ] {
        let out = hearwatch(args);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--format xlsx writes a binary workbook")
                && stderr.contains("--output FILE"),
            "{stderr}"
        );
    }
}

#[test]
fn violations_refuses_unknown_names_before_connecting() {
    // No ClickHouse listens on port 9 of loopback: a refusal must come before any query.
    let base = [
        "violations",
        "--month",
        "2025-05",
        "--clickhouse-url",
        "http://127.0.0.1:9",
    ];
    for (flag, value, message) in [
        (
            "--region",
            "KZ-99",
            "--region \"KZ-99\" is not a region code",
        ),
        ("--rule", "protocol_missing' OR '1", "is neither a rule"),
        ("--form", "open", "--form \"open\" is not a form"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value]);
        let out = hearwatch(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{flag} {value}: {stderr}");
    }
    let out = hearwatch(&["violations", "--month", "May"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--month \"May\" is not a month"));
}
