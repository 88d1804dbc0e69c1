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
    fn drop(&mut self) {
        // While unwinding a panic the record is not written: a second panic in the sink would abort the process.
        if self.written || std::thread::panicking() {
            return;
        }
        self.written = true;
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
        let r = &mut self.record;
        r.time = std::time::SystemTime::now();
        r.unfinished = Some(how);
        r.failure = Some(why.into());
        self.audit.record(r);
    }
}
