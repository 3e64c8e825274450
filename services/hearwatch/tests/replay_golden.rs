//! The may-2025 scenario replayed through the real binary reproduces the ministry's tables.
//!
//! The expected numbers are not ours: they are the seed report's tables typed in as data,
//! `tests/golden/2025-05.json` (a copy of the shared `golden/2025-05.json`; or the file
//! `HEARWATCH_GOLDEN` names). Totals are compared as row sums, since the seed's printed
//! 286 is a known error in the report.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn golden_path() -> PathBuf {
    if let Ok(p) = std::env::var("HEARWATCH_GOLDEN") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/2025-05.json")
}

/// The repository's copy of the golden tables is still the shared file, when the shared
/// folder sits beside the repository (it does where the project is developed).
#[test]
fn the_golden_copy_is_the_shared_file() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden/2025-05.json");
    let Ok(original) = std::fs::read(&shared) else {
        eprintln!(
            "{} is not beside this clone; nothing to compare",
            shared.display()
        );
        return;
    };
    let copy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/2025-05.json");
    assert!(
        std::fs::read(&copy).expect("the golden copy") == original,
        "{} differs from {}: copy the shared file again",
        copy.display(),
        shared.display()
    );
}

fn hearwatch(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_hearwatch"))
        .args(args)
        .output()
        .expect("hearwatch runs");
    assert!(
        out.status.success(),
        "hearwatch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Compares every golden row and column with the report; returns the mismatches.
fn mismatches(report: &Value, golden: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for table in ["open_meetings", "public_discussions"] {
        for want in golden[table].as_array().expect("golden rows") {
            let region = &want["region"];
            let have = report[table]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| &r["region"] == region);
            let Some(have) = have else {
                bad.push(format!("{table} {region}: no row"));
                continue;
            };
            for (column, value) in want.as_object().unwrap() {
                if ["row", "region", "name_in_report"].contains(&column.as_str()) {
                    continue;
                }
                if &have[column] != value {
                    bad.push(format!(
                        "{table} {region} {column}: got {}, want {value}",
                        have[column]
                    ));
                }
            }
        }
        let sums = &golden["column_sums"][table];
        for (column, value) in sums.as_object().unwrap() {
            if &report[format!("{table}_total")][column] != value {
                bad.push(format!(
                    "{table} total {column}: got {}, want {value}",
                    report[format!("{table}_total")][column]
                ));
            }
        }
    }
    bad
}

#[test]
fn replay_of_may_2025_reproduces_every_golden_row() {
    let golden_file = golden_path();
    let golden: Value = serde_json::from_slice(
        &std::fs::read(&golden_file)
            .unwrap_or_else(|e| panic!("the golden tables {}: {e}", golden_file.display())),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("hearwatch-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("may-2025.ndjson");
    hearwatch(&[
        "simulate",
        "--scenario",
        "may-2025",
        "--output",
        events.to_str().unwrap(),
    ]);
    for as_of in ["2025-07-01T00:00:00+05:00", "2026-12-01T00:00:00Z"] {
        let out = hearwatch(&[
            "replay",
            "--events",
            events.to_str().unwrap(),
            "--as-of",
            as_of,
            "--month",
            "2025-05",
            "--format",
            "json",
        ]);
        let report: Value = serde_json::from_slice(&out).unwrap();
        let bad = mismatches(&report, &golden);
        assert!(bad.is_empty(), "as of {as_of}:\n{}", bad.join("\n"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn replay_as_of_the_end_of_may_has_fewer_violations() {
    // Deadlines that end on the last working days of May (30 May) pass only at its end,
    // so a replay as of noon on 30 May cannot have all of May's violations yet.
    let dir = std::env::temp_dir().join(format!("hearwatch-replay-early-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("may-2025.ndjson");
    hearwatch(&[
        "simulate",
        "--scenario",
        "may-2025",
        "--output",
        events.to_str().unwrap(),
    ]);
    let early = hearwatch(&[
        "replay",
        "--events",
        events.to_str().unwrap(),
        "--as-of",
        "2025-05-20T12:00:00+05:00",
        "--month",
        "2025-05",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&early).unwrap();
    let total = report["open_meetings_total"]["total"].as_u64().unwrap()
        + report["public_discussions_total"]["total"]
            .as_u64()
            .unwrap();
    assert!(
        total < 124 + 93,
        "as of 20 May only part of May's 217 violations can be known, got {total}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_flag_names_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_hearwatch"))
        .args(["replay", "--events", "/nonexistent", "--as-of", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of \"yesterday\""));
}
