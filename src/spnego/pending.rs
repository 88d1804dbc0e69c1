//! A negotiation's audit record until it is written — exactly once: by the engine at the end of the negotiation
//! (success or failure, through [`Pending::take`]), or, when the engine's state is dropped first because the
//! application deleted its context, with an [`Unfinished`] outcome: `unconfirmed` when our side had sent its last
//! mechanism token and only the peer's final answer was missing (an initiator whose program, like curl, stops
//! after its last token), else `abandoned`.
#![forbid(unsafe_code)]

use std::sync::Arc;

use crate::audit::{AuditSink, Record, Unfinished};

/// The record and where it goes.
pub(crate) struct Pending {
    record: Record,
    audit: Arc<dyn AuditSink>,
    written: bool,
    /// Our last mechanism token was sent; only the peer's final answer is missing.
    pub(crate) final_sent: bool,
}

impl Pending {
    /// A record not yet written.
    pub(crate) fn new(record: Record, audit: Arc<dyn AuditSink>) -> Pending {
        Pending {
            record,
            audit,
            written: false,
            final_sent: false,
        }
    }

    /// Writes the record where it lies, once `complete` has filled in the end of the negotiation; the drop
    /// then writes nothing. (No copy of the record: a successful negotiation ends here.)
    pub(crate) fn write_done(&mut self, complete: impl FnOnce(&mut Record)) {
        self.written = true;
        complete(&mut self.record);
        self.audit.record(&self.record);
    }

    /// Hands the record over for writing; the drop then writes nothing.
    pub(crate) fn take(&mut self) -> Record {
        self.written = true;
        let blank = Record::untimed(self.record.role, self.record.protocol);
        std::mem::replace(&mut self.record, blank)
    }
}

impl std::ops::Deref for Pending {
    type Target = Record;
    fn deref(&self) -> &Record {
        &self.record
    }
}

impl std::ops::DerefMut for Pending {
    fn deref_mut(&mut self) -> &mut Record {
        &mut self.record
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.record.fmt(f)
    }
}

impl Drop for Pending {
    // The check inline (the engine has taken the record at the end of every negotiation it saw through), the
    // write of an unfinished negotiation out of line.
    #[inline]
    fn drop(&mut self) {
        if !self.written {
            self.write_unfinished();
        }
    }
}

impl Pending {
    #[cold]
    #[inline(never)]
    fn write_unfinished(&mut self) {
        // Owned here, so that it is dropped in every case.
        let mut r = self.take();
        // While unwinding a panic the record is not written: a second panic in the sink would abort the process.
        if std::thread::panicking() {
            return;
        }
        let (how, why) = if self.final_sent {
            (
                Unfinished::Unconfirmed,
                "context deleted before the peer's final answer was processed",
            )
        } else {
            (
                Unfinished::Abandoned,
                "context deleted before the negotiation finished",
            )
        };
        r.time = std::time::SystemTime::now();
        r.unfinished = Some(how);
        r.failure = Some(why.into());
        self.audit.record(&r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{MemoryAudit, Role};

    #[test]
    fn taken_records_leave_a_blank_that_owns_nothing() {
        let sink = Arc::new(MemoryAudit::default());
        let mut r = Record::untimed(Role::Acceptor, "spnego");
        r.peer = Some("EXAMPLE\\alice".into());
        r.offered = vec![crate::spnego::Oid::ntlmssp()];
        let mut p = Pending::new(r.clone(), sink.clone());
        assert_eq!(p.take(), r);
        // The blank left behind holds nothing on the heap.
        assert!(p.peer.is_none() && p.offered.capacity() == 0 && p.chosen.is_none());
        assert!(p.failure.is_none() && p.backend.is_none());
        drop(p);
        assert!(sink.records().is_empty());
    }

    #[test]
    fn written_in_place_once() {
        let sink = Arc::new(MemoryAudit::default());
        let mut p = Pending::new(Record::untimed(Role::Acceptor, "spnego"), sink.clone());
        p.write_done(|r| r.peer = Some("EXAMPLE\\alice".into()));
        // The record stays readable (the acceptor takes the client's name from it) and is not written again.
        assert_eq!(p.peer.as_deref(), Some("EXAMPLE\\alice"));
        drop(p);
        let written = sink.records();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].outcome(), "success");
        assert_eq!(written[0].peer.as_deref(), Some("EXAMPLE\\alice"));
    }

    #[test]
    fn dropped_before_taken_writes_the_record_once() {
        let sink = Arc::new(MemoryAudit::default());
        let mut r = Record::untimed(Role::Initiator, "spnego");
        r.peer = Some("HTTP/www.example.com".into());
        let mut p = Pending::new(r, sink.clone());
        p.final_sent = true;
        drop(p);
        let written = sink.records();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].outcome(), "unconfirmed");
        assert_eq!(written[0].peer.as_deref(), Some("HTTP/www.example.com"));
    }
}
