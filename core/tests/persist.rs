//! tab2file / file2tab / tabfile_info: round trips on every table type, every kind of damaged
//! file is a clear error that leaves no table, writing under concurrent writers, and a writer
//! killed (SIGKILL) at random moments never damages the previous file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rets_core::persist::{file2tab, tabfile_info, LoadOptions};
use rets_core::{tuple, whereis, Access, Error, Object, Owner, TableOptions, TableType, Term};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rets-persist-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sorted(objects: Vec<Object>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = objects.iter().map(|o| o.as_msgpack().to_vec()).collect();
    v.sort();
    v
}

const VERIFY: LoadOptions = LoadOptions { verify: true };

#[test]
fn every_table_type_round_trips_with_its_options() {
    let dir = temp_dir("roundtrip");
    let owner = Owner::new();
    for (i, t) in [
        TableType::Set,
        TableType::OrderedSet,
        TableType::Bag,
        TableType::DuplicateBag,
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("saved_{i}");
        let table = owner
            .new_table(
                &name,
                TableOptions::new()
                    .table_type(t)
                    .keypos(2)
                    .named()
                    .private()
                    .read_concurrency(true),
            )
            .unwrap();
        for k in 0..3000i64 {
            let key = if k % 3 == 0 {
                Term::atom(&format!("k{k}"))
            } else {
                Term::Int(k % 1000)
            };
            table
                .insert(Term::Array(vec![
                    Term::from("v"),
                    key,
                    tuple!(k, 1.5, Term::Nil),
                ]))
                .unwrap();
        }
        table.insert(tuple!("dup", 7, 7)).unwrap();
        table.insert(tuple!("dup", 7, 7)).unwrap();
        let path = dir.join(format!("{name}.rets"));
        table.tab2file(&path).unwrap();
        let info = tabfile_info(&path).unwrap();
        assert_eq!(info.header.name, name);
        assert_eq!(info.header.table_type, t);
        assert_eq!(info.header.keypos, 2);
        assert_eq!(info.header.access, Access::Private);
        assert!(info.header.named && info.header.read_concurrency);
        assert_eq!(info.object_count, table.size().unwrap() as u64);

        let before = table.tab2list().unwrap();
        table.delete_table().unwrap();
        let other = Owner::new();
        let loaded = file2tab(&other, &path, VERIFY).unwrap();
        let got = loaded.info().unwrap();
        assert_eq!(
            (got.table_type, got.keypos, got.access),
            (t, 2, Access::Private)
        );
        assert!(got.named && got.read_concurrency && !got.write_concurrency);
        assert_eq!(got.owner, other.id());
        assert!(whereis(&name).is_some());
        if t == TableType::OrderedSet {
            assert_eq!(loaded.tab2list().unwrap(), before);
        } else {
            assert_eq!(sorted(loaded.tab2list().unwrap()), sorted(before));
        }
        // A named table of that name now exists: loading again is refused, nothing changes.
        assert!(matches!(
            file2tab(&other, &path, VERIFY),
            Err(Error::NameTaken { .. })
        ));
        loaded.delete_table().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Loading `bytes` fails with a BadFile error whose reason contains `want`, and leaves no table.
fn expect_bad(dir: &Path, bytes: &[u8], want: &str) {
    let path = dir.join("bad.rets");
    std::fs::write(&path, bytes).unwrap();
    let owner = Owner::new();
    match file2tab(&owner, &path, LoadOptions::default()) {
        Err(Error::BadFile { reason, .. }) => {
            assert!(reason.contains(want), "reason {reason:?} lacks {want:?}")
        }
        other => panic!("expected a bad file ({want}), got {other:?}"),
    }
    assert!(owner.tables().is_empty(), "a partial table was left");
    assert!(whereis("damaged").is_none());
}

#[test]
fn damaged_truncated_foreign_and_future_files_are_clear_errors() {
    let dir = temp_dir("damaged");
    let owner = Owner::new();
    let table = owner
        .new_table("damaged", TableOptions::new().named())
        .unwrap();
    for k in 0..40i64 {
        table.insert(tuple!(k, "value", Term::atom("a"))).unwrap();
    }
    let path = dir.join("good.rets");
    table.tab2file(&path).unwrap();
    table.delete_table().unwrap();
    let good = std::fs::read(&path).unwrap();

    for cut in 0..good.len() {
        let want = if cut == 0 { "wrong magic" } else { "truncated" };
        expect_bad(&dir, &good[..cut], want);
    }
    for at in 0..good.len() {
        let mut damaged = good.clone();
        damaged[at] ^= 0x20;
        let path = dir.join("flip.rets");
        std::fs::write(&path, &damaged).unwrap();
        let owner = Owner::new();
        let result = file2tab(&owner, &path, LoadOptions::default());
        assert!(
            matches!(result, Err(Error::BadFile { .. })),
            "a flipped byte at {at} was not detected: {result:?}"
        );
        assert!(owner.tables().is_empty());
    }
    expect_bad(&dir, b"name,value\nalice,1\n", "not a rets table file");
    let mut future = good.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    expect_bad(&dir, &future, "unsupported file version 2");
    let mut trailing = good.clone();
    trailing.push(0);
    expect_bad(&dir, &trailing, "after the trailer");
    assert!(matches!(
        file2tab(&owner, dir.join("missing.rets"), LoadOptions::default()),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        tabfile_info(dir.join("missing.rets")),
        Err(Error::Io { .. })
    ));
    std::fs::write(dir.join("info.rets"), &good[..good.len() - 5]).unwrap();
    assert!(matches!(
        tabfile_info(dir.join("info.rets")),
        Err(Error::BadFile { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tab2file_under_concurrent_writers_saves_no_key_twice() {
    let dir = temp_dir("concurrent");
    let owner = Owner::new();
    for t in [TableType::Set, TableType::OrderedSet] {
        let table = owner
            .new_table("busy", TableOptions::new().table_type(t).public())
            .unwrap();
        for k in 0..20_000i64 {
            table.insert(tuple!(k, k)).unwrap();
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (table, stop) = (table.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut k = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    table.delete(k % 20_000).unwrap();
                    table.insert(tuple!(k % 20_000, -k)).unwrap();
                    table.insert(tuple!(100_000 + k, 0)).unwrap();
                    k += 1;
                }
            })
        };
        let path = dir.join("busy.rets");
        for _ in 0..3 {
            table.tab2file(&path).unwrap();
            // verify fails if a set's file holds a key twice.
            let reader = Owner::new();
            let loaded = file2tab(&reader, &path, VERIFY).unwrap();
            assert_eq!(
                loaded.size().unwrap() as u64,
                tabfile_info(&path).unwrap().object_count
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        table.delete_table().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

const CHILD_ENV: &str = "RETS_PERSIST_KILL_CHILD";

/// In the child process: writes a large table to the given path over and over, until killed.
#[test]
fn writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // only meaningful when spawned by the test below
    };
    let owner = Owner::new();
    let table = owner.new_table("new", TableOptions::new()).unwrap();
    for k in 0..200_000i64 {
        table.insert(tuple!(k, "new", k)).unwrap();
    }
    std::fs::write(format!("{path}.ready"), b"").unwrap();
    loop {
        table.tab2file(&path).unwrap();
        // Written only after a write completed: a kill after this finds the new file.
        std::fs::write(format!("{path}.done"), b"").unwrap();
    }
}

#[test]
fn a_writer_killed_at_any_moment_leaves_the_previous_file_intact() {
    let dir = temp_dir("killed");
    let path = dir.join("table.rets");
    let owner = Owner::new();
    let old = owner.new_table("old", TableOptions::new()).unwrap();
    for k in 0..1000i64 {
        old.insert(tuple!(k, "old")).unwrap();
    }
    old.tab2file(&path).unwrap();
    let mut complete_new = 0;
    for round in 0..8u64 {
        let ready = PathBuf::from(format!("{}.ready", path.display()));
        let done = PathBuf::from(format!("{}.done", path.display()));
        let _ = std::fs::remove_file(&ready);
        let _ = std::fs::remove_file(&done);
        if round % 2 == 0 {
            // The old file again, so that even rounds kill the first write over it.
            old.tab2file(&path).unwrap();
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait_for = if round % 2 == 0 { &ready } else { &done };
        while !wait_for.exists() {
            std::thread::sleep(Duration::from_millis(2));
        }
        // Kill it at a different moment of its (next) write each round.
        std::thread::sleep(Duration::from_millis(29 * round + 3));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reader = Owner::new();
        let loaded = file2tab(&reader, &path, VERIFY)
            .unwrap_or_else(|e| panic!("round {round}: the file was damaged: {e}"));
        match loaded.size().unwrap() {
            1000 if round % 2 == 0 => {
                assert_eq!(loaded.lookup(5).unwrap()[0].to_term(), tuple!(5, "old"))
            }
            200_000 => complete_new += 1,
            n => panic!("round {round}: a partial or stale table of {n} objects"),
        }
        loaded.delete_table().unwrap();
    }
    assert!(
        complete_new >= 4,
        "every odd round finds the complete new file"
    );
    eprintln!("{complete_new} of 8 rounds found the complete new file, the others the old one");
    std::fs::remove_dir_all(&dir).ok();
}

/// Writes real table files as the seed corpus of the loader's fuzz target when
/// `RETS_FILE_SEEDS_DIR` is set (`RETS_FILE_SEEDS_DIR=fuzz/seeds/file_load cargo test -p
/// rets-core --test persist write_fuzz_seeds`); otherwise does nothing.
#[test]
fn write_fuzz_seeds() {
    let Ok(dir) = std::env::var("RETS_FILE_SEEDS_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let owner = Owner::new();
    let save = |name: &str, options: TableOptions, objects: Vec<Term>| {
        let table = owner.new_table(name, options).unwrap();
        for o in objects {
            table.insert(o).unwrap();
        }
        table.tab2file(dir.join(format!("{name}.rets"))).unwrap();
        table.delete_table().unwrap();
    };
    save("empty", TableOptions::new(), vec![]);
    save(
        "set_atoms",
        TableOptions::new(),
        (0..8)
            .map(|k| tuple!(k, Term::atom("ok"), 1.5, Term::bin(vec![1, 2])))
            .collect(),
    );
    save(
        "ordered_keypos2_named",
        TableOptions::new()
            .ordered_set()
            .keypos(2)
            .named()
            .private(),
        (0..6)
            .map(|k| tuple!("v", tuple!("k", k), Term::map([("m", k)])))
            .collect(),
    );
    save(
        "bag",
        TableOptions::new().bag().public(),
        vec![tuple!(1, 1), tuple!(1, 2), tuple!(2, Term::Nil)],
    );
    save(
        "duplicate_bag",
        TableOptions::new().duplicate_bag().write_concurrency(true),
        vec![tuple!("d", 1), tuple!("d", 1), tuple!("e", true)],
    );
    save(
        "two_blocks",
        TableOptions::new(),
        (0..3)
            .map(|k| tuple!(k, Term::bin(vec![7; 30_000])))
            .collect(),
    );
}
