//! The append-only, hash-chained event journal: the embedded backend's
//! write-ahead log and the history the catalog can always be rebuilt from.
//!
//! Format: one [`AuditEvent`] as JSON per line, `\n`-terminated. Each
//! event's `prev` is the SHA-256 of the previous line's bytes (without the
//! newline); the first event's `prev` is [`GENESIS`]. Only complete lines
//! count: a line cut short by a crash was never acknowledged and is removed
//! when the journal is next opened. Events written together (one record:
//! item, sighting, fingerprints, metadata) are one transaction: every event
//! but the last has `more` set, and a journal cut inside a transaction is
//! cut back to before its first event, so no half-recorded item survives.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sightline_core::{AuditEvent, Event, GENESIS, SCHEMA_VERSION, Sha256};

use crate::error::{Result, StoreError};

/// Where a journal reader or writer stands: the next line starts at byte
/// `offset`, the last complete event was `seq`, and its line hashed to `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub seq: u64,
    pub offset: u64,
    pub hash: Sha256,
}

impl Position {
    pub const START: Position = Position {
        seq: 0,
        offset: 0,
        hash: GENESIS,
    };
}

/// An open journal, positioned at its end, ready to append.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    end: Position,
}

/// One event read back, with the position just after it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub event: AuditEvent,
    pub after: Position,
}

impl Journal {
    /// Open (creating if needed), passing every complete entry after `from`
    /// to `each`. Verifies the chain from `from` on; a torn final line is
    /// truncated away.
    pub fn open(
        path: &Path,
        from: Position,
        each: impl FnMut(Entry) -> Result<()>,
    ) -> Result<Journal> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(StoreError::io(format!("open journal {}", path.display())))?;
        if !existed && let Some(dir) = path.parent() {
            crate::blob::sync_dir(dir)?;
        }
        let len = file
            .metadata()
            .map_err(StoreError::io("stat journal"))?
            .len();
        if from.offset > len {
            return Err(StoreError::JournalCorrupt {
                line: from.seq + 1,
                detail: format!(
                    "the catalog has applied {} bytes but the journal has only {len}",
                    from.offset
                ),
            });
        }
        let end = read_from(path, from, each)?;
        if end.offset < len {
            // A torn tail: bytes of an event that was never acknowledged.
            file.set_len(end.offset)
                .map_err(StoreError::io("truncate torn journal tail"))?;
            file.sync_all().map_err(StoreError::io("fsync journal"))?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            end,
        })
    }

    pub fn end(&self) -> Position {
        self.end
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append events as one transaction, chained and numbered, and fsync
    /// before returning.
    pub fn append(
        &mut self,
        actor: &str,
        at: DateTime<Utc>,
        events: Vec<Event>,
    ) -> Result<Vec<Entry>> {
        let mut buf = Vec::new();
        let mut pos = self.end;
        let mut out = Vec::with_capacity(events.len());
        let last = events.len().saturating_sub(1);
        for (i, event) in events.into_iter().enumerate() {
            let ev = AuditEvent {
                schema: SCHEMA_VERSION,
                seq: pos.seq + 1,
                at,
                actor: actor.to_string(),
                prev: pos.hash,
                more: i < last,
                event,
            };
            let line = serde_json::to_vec(&ev)?;
            let hash = Sha256::of(&line);
            buf.extend_from_slice(&line);
            buf.push(b'\n');
            pos = Position {
                seq: ev.seq,
                offset: pos.offset + line.len() as u64 + 1,
                hash,
            };
            out.push(Entry {
                event: ev,
                after: pos,
            });
        }
        let write = self
            .file
            .seek(SeekFrom::End(0))
            .and_then(|_| self.file.write_all(&buf))
            .and_then(|_| self.file.sync_data());
        if let Err(e) = write {
            // Leave no partial event behind for this process to build on.
            let _ = self.file.set_len(self.end.offset);
            return Err(StoreError::io("append to journal")(e));
        }
        self.end = pos;
        Ok(out)
    }
}

/// Read complete transactions from `from` on, checking numbering, chaining
/// and schema, and return the position after the last complete one. Events
/// reach `each` only once their whole transaction has been read. Stops
/// quietly at a final line that has no newline or a transaction that never
/// finished; any other bad line is corruption.
pub fn read_from(
    path: &Path,
    from: Position,
    mut each: impl FnMut(Entry) -> Result<()>,
) -> Result<Position> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && from == Position::START => {
            return Ok(from);
        }
        Err(e) => {
            return Err(StoreError::io(format!("open journal {}", path.display()))(
                e,
            ));
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    reader
        .seek(SeekFrom::Start(from.offset))
        .map_err(StoreError::io("seek journal"))?;
    let mut pos = from;
    // The end of the last complete transaction, and the events of the one
    // being read.
    let mut committed = from;
    let mut pending: Vec<Entry> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(StoreError::io("read journal"))?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(committed); // end, or a torn final line
        }
        line.pop();
        let lineno = pos.seq + 1;
        let ev = serde_json::from_slice::<AuditEvent>(&line).map_err(|e| {
            // A complete line that does not parse may still be a torn write
            // whose newline came from a later, unrelated write; treat it as
            // corruption unless it is the very last bytes of the file.
            StoreError::JournalCorrupt {
                line: lineno,
                detail: format!("not an event: {e}"),
            }
        });
        let ev = match ev {
            Ok(ev) => ev,
            Err(err) => {
                let mut rest = Vec::new();
                std::io::Read::read_to_end(&mut reader, &mut rest)
                    .map_err(StoreError::io("read journal"))?;
                if rest.is_empty() {
                    return Ok(committed);
                }
                return Err(err);
            }
        };
        if ev.schema > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                line: lineno,
                found: ev.schema,
                supported: SCHEMA_VERSION,
            });
        }
        if ev.seq != pos.seq + 1 {
            return Err(StoreError::JournalCorrupt {
                line: lineno,
                detail: format!("expected event {} but found {}", pos.seq + 1, ev.seq),
            });
        }
        if ev.prev != pos.hash {
            return Err(StoreError::JournalCorrupt {
                line: lineno,
                detail: "chain broken: prev does not match the previous event".into(),
            });
        }
        let hash = Sha256::of(&line);
        pos = Position {
            seq: ev.seq,
            offset: pos.offset + line.len() as u64 + 1,
            hash,
        };
        let more = ev.more;
        pending.push(Entry {
            event: ev,
            after: pos,
        });
        if !more {
            for entry in pending.drain(..) {
                each(entry)?;
            }
            committed = pos;
        }
    }
}

/// Size of the journal file, 0 if it does not exist.
pub fn len(path: &Path) -> Result<u64> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(StoreError::io("stat journal")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_core::{EvidenceItem, MediaKind};

    fn open(p: &Path, from: Position) -> Result<(Journal, Vec<Entry>)> {
        let mut found = Vec::new();
        let j = Journal::open(p, from, |e| {
            found.push(e);
            Ok(())
        })?;
        Ok((j, found))
    }

    fn event(n: u8) -> Event {
        Event::ItemPreserved {
            item: EvidenceItem {
                sha256: Sha256::of(&[n]),
                size: n as u64,
                kind: MediaKind::Image,
                format: "png".into(),
                media_type: "image/png".into(),
                width: Some(1),
                height: Some(1),
                trailing_bytes: 0,
                warnings: Vec::new(),
                first_collected_at: DateTime::UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn appends_chain_and_reopen_sees_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("events.jsonl");
        let (mut j, found) = open(&p, Position::START).expect("open");
        assert!(found.is_empty());
        j.append("tester", Utc::now(), vec![event(1), event(2)])
            .expect("append");
        j.append("tester", Utc::now(), vec![event(3)])
            .expect("append");
        let end = j.end();
        assert_eq!(end.seq, 3);
        drop(j);
        let (j, found) = open(&p, Position::START).expect("reopen");
        assert_eq!(found.len(), 3);
        assert_eq!(j.end(), end);
        assert_eq!(found[0].event.prev, GENESIS);
        // Resuming from the middle returns only the rest.
        let (_, rest) = open(&p, found[1].after).expect("reopen mid");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].event.seq, 3);
    }

    #[test]
    fn torn_tail_is_truncated_and_appending_continues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("events.jsonl");
        let (mut j, _) = open(&p, Position::START).expect("open");
        j.append("t", Utc::now(), vec![event(1)]).expect("append");
        let good = j.end();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).expect("open raw");
        f.write_all(b"{\"schema\":1,\"seq\":2,\"at\"")
            .expect("write torn");
        drop(f);
        let (mut j, found) = open(&p, Position::START).expect("reopen");
        assert_eq!(found.len(), 1);
        assert_eq!(j.end(), good);
        assert_eq!(len(&p).expect("len"), good.offset);
        j.append("t", Utc::now(), vec![event(2)])
            .expect("append after repair");
        let (_, found) = open(&p, Position::START).expect("reopen");
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn a_transaction_cut_after_whole_lines_is_cut_back_entirely() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("events.jsonl");
        let (mut j, _) = open(&p, Position::START).expect("open");
        j.append("t", Utc::now(), vec![event(1)]).expect("append");
        let good = j.end();
        j.append("t", Utc::now(), vec![event(2), event(3), event(4)])
            .expect("append");
        drop(j);
        // A kill mid-write can leave whole lines of a transaction behind:
        // keep the first two of its three lines.
        let text = fs::read(&p).expect("read");
        let lines: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'\n').collect();
        assert_eq!(lines.len(), 4);
        fs::write(&p, &text[..=lines[2]]).expect("cut");
        let mut seen = Vec::new();
        let end = read_from(&p, Position::START, |e| {
            seen.push(e.event.seq);
            Ok(())
        })
        .expect("read");
        assert_eq!(seen, vec![1], "no event of the unfinished transaction");
        assert_eq!(end, good);
        let (mut j, found) = open(&p, Position::START).expect("reopen");
        assert_eq!(found.len(), 1);
        assert_eq!(len(&p).expect("len"), good.offset, "cut back on open");
        j.append("t", Utc::now(), vec![event(5), event(6)])
            .expect("append after repair");
        let (_, found) = open(&p, Position::START).expect("reopen");
        let seqs: Vec<u64> = found.iter().map(|e| e.event.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert!(found[1].event.more && !found[2].event.more);
    }

    #[test]
    fn lines_written_before_transactions_were_marked_each_stand_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("events.jsonl");
        let (mut j, _) = open(&p, Position::START).expect("open");
        j.append("t", Utc::now(), vec![event(1), event(2)])
            .expect("append");
        drop(j);
        // An older journal has no `more` key on any line; rewrite the chain
        // the way an older build wrote it.
        let text = fs::read_to_string(&p).expect("read");
        let mut prev = GENESIS;
        let mut old = String::new();
        for line in text.lines() {
            let mut ev: AuditEvent = serde_json::from_str(line).expect("parse");
            ev.prev = prev;
            ev.more = false;
            let l = serde_json::to_string(&ev).expect("json");
            assert!(!l.contains("\"more\""));
            prev = Sha256::of(l.as_bytes());
            old.push_str(&l);
            old.push('\n');
        }
        fs::write(&p, &old).expect("write old");
        // Cut the second line short: the first still stands.
        fs::write(&p, &old[..old.len() - 5]).expect("cut");
        let (_, found) = open(&p, Position::START).expect("reopen");
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn edited_history_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("events.jsonl");
        let (mut j, _) = open(&p, Position::START).expect("open");
        j.append("alice", Utc::now(), vec![event(1), event(2), event(3)])
            .expect("append");
        drop(j);
        let text = fs::read_to_string(&p).expect("read");
        fs::write(&p, text.replacen("alice", "mallo", 1)).expect("tamper");
        let err = open(&p, Position::START).expect_err("tamper must be seen");
        assert_eq!(err.code(), "journal-corrupt");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
