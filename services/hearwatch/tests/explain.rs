//! `hearwatch explain` through the real binary: it explains one hearing of a file, shows the
//! verdicts `replay` gives for it, and tells a missing hearing from an empty result.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn hearwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearwatch"))
        .args(args)
        .output()
        .expect("hearwatch runs")
}

fn stdout(args: &[&str]) -> String {
    let out = hearwatch(args);
    assert!(
        out.status.success(),
        "hearwatch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn event(n: u32, hearing: &str, kind: &str, at: &str, fields: Value) -> String {
    let mut v = json!({
        "event_id": format!("00000000-0000-4000-8000-{n:012}"),
        "type": kind, "hearing_id": hearing, "region": "KZ-19", "form": "open_meeting",
        "occurred_at": at, "source": "test",
    });
    v.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    v.to_string()
}

fn announcement(channel: &str, declared_on: &str) -> Value {
    json!({ "channel": channel, "declared_on": declared_on, "section": "public_hearings" })
}

/// H-1: set for Tuesday 6 May 2025, protocol on the portal only, on 15 May (the 4th working
/// day after 6 May is 14 May: 7 and 9 May are holidays). H-2 is another hearing; one line
/// is not an event and one is a repeat.
fn events_file(test: &str) -> PathBuf {
    let received = event(
        1,
        "H-1",
        "application_received",
        "2025-03-20T10:00:00+05:00",
        json!({ "hearing_at": "2025-05-06T11:00:00+05:00" }),
    );
    let lines = [
        received.clone(),
        event(
            2,
            "H-1",
            "announcement_published",
            "2025-03-20T12:00:00+05:00",
            announcement("information_system", "2025-03-20"),
        ),
        event(
            3,
            "H-1",
            "announcement_published",
            "2025-03-21T12:00:00+05:00",
            announcement("mio_website", "2025-03-21"),
        ),
        event(
            4,
            "H-1",
            "protocol_published",
            "2025-05-15T09:00:00+05:00",
            json!({ "channel": "information_system", "declared_on": "2025-05-15",
                    "section": "public_hearings", "has_recording": true }),
        ),
        "{not an event, H-1".to_string(),
        received,
        event(
            5,
            "H-2",
            "application_received",
            "2025-03-20T10:00:00+05:00",
            json!({ "hearing_at": "2025-05-06T11:00:00+05:00" }),
        ),
    ];
    let path = std::env::temp_dir().join(format!(
        "hearwatch-explain-{test}-{}.ndjson",
        std::process::id()
    ));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn explain_shows_the_verdicts_replay_gives_for_the_hearing() {
    let file = events_file("verdicts");
    let file = file.to_str().unwrap();
    let as_of = "2025-07-01T00:00:00Z";
    let explained: Value = serde_json::from_str(&stdout(&[
        "explain",
        "--events",
        file,
        "--hearing",
        "H-1",
        "--as-of",
        as_of,
        "--format",
        "json",
    ]))
    .unwrap();
    let mut from_explain: Vec<(String, String)> = explained["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().into(),
                v["channel"].as_str().unwrap().into(),
            )
        })
        .collect();
    from_explain.sort();
    let replayed = stdout(&[
        "replay", "--events", file, "--as-of", as_of, "--format", "ndjson",
    ]);
    let mut from_replay: Vec<(String, String)> = replayed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["hearing_id"] == "H-1")
        .map(|v| {
            (
                v["rule"].as_str().unwrap().into(),
                v["channel"].as_str().unwrap().into(),
            )
        })
        .collect();
    from_replay.sort();
    // Late on the portal (15 May > 14 May), missing on the website. The website's
    // announcement of 21 March is on time: 21-23 March are Nauryz holidays, 22 and 23 (a
    // weekend) move to 24 and 25 March, so the 1st working day after the receipt on
    // 20 March is 26 March.
    assert_eq!(
        from_explain,
        vec![
            (
                "protocol_late".to_string(),
                "information_system".to_string()
            ),
            ("protocol_missing".to_string(), "mio_website".to_string()),
        ]
    );
    assert_eq!(from_explain, from_replay);
    assert_eq!(
        explained["timeline"].as_array().unwrap().len(),
        4,
        "H-1's distinct events"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn explain_text_names_the_deadline_and_why_each_violation_fired() {
    let file = events_file("text");
    let text = stdout(&[
        "explain",
        "--events",
        file.to_str().unwrap(),
        "--hearing",
        "H-1",
        "--as-of",
        "2025-07-01T00:00:00Z",
    ]);
    for expected in [
        "Hearing H-1: open meeting, KZ-19 Алматинская (local dates in Asia/Almaty)",
        "protocol: 4 working day(s) after 2025-05-06",
        "2025-05-07 Wed  holiday",
        " 4. 2025-05-14 Wed  working day",
        "last day 2025-05-14; deadline instant 2025-05-14T19:00:00Z",
        "protocol_late on information_system (counted in 2025-05)",
        "2025-05-14T19:00:00Z  + H-1/protocol_missing/protocol/information_system",
        "2025-05-15T04:00:00Z  - H-1/protocol_missing/protocol/information_system",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    std::fs::remove_file(file).unwrap();
}

#[test]
fn explain_fails_for_a_hearing_without_events() {
    let file = events_file("missing");
    let out = hearwatch(&[
        "explain",
        "--events",
        file.to_str().unwrap(),
        "--hearing",
        "H-9",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no valid event of hearing \"H-9\""));
    std::fs::remove_file(file).unwrap();
}
