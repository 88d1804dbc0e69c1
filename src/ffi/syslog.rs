//! Syslog for the audit records ([`crate::audit`]), facility `LOG_AUTHPRIV`: our own client of the local syslog
//! socket (`/dev/log`) instead of glibc's `syslog(3)`.
//!
//! Why not `syslog(3)`: without a socket at `/dev/log` glibc creates a socket and tries to connect on every call,
//! and with one it still formats through stdio on the caller's thread; either way the cost lands on every
//! negotiation (issue 11, BENCHMARKS.md "SPNEGO through our interposer").
//!
//! What this client does, for a library loaded into arbitrary processes:
//! - One persistent `AF_UNIX`/`SOCK_DGRAM` socket (close-on-exec), connected once; each record is one datagram
//!   framed as glibc frames it (RFC 3164): `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, with `ident` the
//!   program's short name (`program_invocation_short_name`, what glibc uses when the program did not call
//!   `openlog`) and the process id of the process that sends (cached — `getpid` is a system call — and
//!   forgotten in every `fork` child by a `pthread_atfork` handler, so a forked child's lines carry its own pid).
//! - Synchronous: the datagram is handed to the kernel before the call returns, so nothing is queued in the
//!   process — nothing to flush at exit, no writer thread for a child to inherit dead.
//! - Never blocks for long: the socket has a 100 ms send timeout (a syslog daemon that stopped reading);
//!   the sink's lock is taken with a bounded wait, and a lock left held by a thread that does not exist in this
//!   process (a fork) is detected at once: both fall back to a one-shot socket for that record.
//! - Never drops silently: a record that could not be sent (no daemon, timeout) is counted, and the next
//!   record that gets through is preceded by a line saying how many were lost.
//! - Reconnects at most once a second while `/dev/log` is missing, and at once when the daemon restarted
//!   (`ECONNREFUSED`) — as glibc does.
//! - Survives a process that closes or reuses our descriptor (daemons that close every fd after a fork): the
//!   socket's device and inode are checked before each send; when the number now names another file, it is
//!   forgotten (not closed: it is no longer ours) and a new socket is made.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The local syslog socket.
pub(crate) const DEV_LOG: &str = "/dev/log";
/// How long a send may wait for a daemon that stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);
/// How long a record waits for another thread's send.
const LOCK_WAIT: Duration = Duration::from_millis(100);
/// How often a missing socket is retried.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest message sent (syslog daemons accept at least this much; longer text is cut).
const MAX_MESSAGE: usize = 4096;

/// Sends `message` to syslog at facility `authpriv`, priority `warning` (refusals) or `notice`. NUL bytes are
/// dropped; the caller has escaped peer text already. The text is made only when there is a socket to send it
/// to: while `/dev/log` is missing (no daemon) the record is counted as lost without being formatted.
pub(crate) fn authpriv<M: AsRef<[u8]>>(warning: bool, message: impl FnOnce() -> M) {
    let severity = if warning {
        libc::LOG_WARNING
    } else {
        libc::LOG_NOTICE
    };
    let priority = libc::LOG_AUTHPRIV | severity;
    static SINK: Mutex<Sink> = Mutex::new(Sink::new());
    static OWNER: AtomicU32 = AtomicU32::new(0);
    // Records the fallback could not send, reported by the shared sink's next line.
    static FALLBACK_DROPPED: AtomicU64 = AtomicU64::new(0);
    let path = Path::new(DEV_LOG);
    match lock_bounded(&SINK, &OWNER) {
        Some(mut sink) => {
            sink.dropped += FALLBACK_DROPPED.swap(0, Ordering::Relaxed);
            sink.log_with(path, priority, message, Instant::now());
            OWNER.store(0, Ordering::Release);
        }
        None => {
            // Fallback: a fresh socket for this one record; nothing shared is touched but the counter.
            let mut one = Sink::new();
            one.log_with(path, priority, message, Instant::now());
            FALLBACK_DROPPED.fetch_add(one.dropped, Ordering::Relaxed);
        }
    }
}

/// The cached process id (0: not known yet, or forgotten in a `fork` child).
static PID: AtomicU32 = AtomicU32::new(0);

/// This process's id. `getpid` is a system call and each record needed it (two per SPNEGO negotiation, measured
/// with `strace -c` on `gssbench`), so it is cached; the first call registers a `pthread_atfork` child handler that
/// forgets it, so a `fork` child asks again (`tests/audit_syslog.rs` checks a forked child's lines). glibc
/// unregisters the handler if this library is ever unloaded (`pthread_atfork` records our DSO handle).
pub(crate) fn pid() -> u32 {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic; no pointers are passed.
        unsafe {
            libc::pthread_atfork(None, None, Some(forget_pid));
        }
    });
    match PID.load(Ordering::Relaxed) {
        0 => {
            let p = std::process::id();
            PID.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

/// The `pthread_atfork` child handler: the child has another pid.
extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

/// Takes `lock` within [`LOCK_WAIT`]; `None` at once when its holder is a thread of another process (the lock
/// was inherited across `fork` and will never be released here). `owner` holds the pid of the holder.
fn lock_bounded<'a>(lock: &'a Mutex<Sink>, owner: &AtomicU32) -> Option<MutexGuard<'a, Sink>> {
    let pid = pid();
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match lock.try_lock() {
            Ok(guard) => {
                owner.store(pid, Ordering::Release);
                return Some(guard);
            }
            Err(TryLockError::Poisoned(e)) => {
                owner.store(pid, Ordering::Release);
                return Some(e.into_inner());
            }
            Err(TryLockError::WouldBlock) => {
                let holder = owner.load(Ordering::Acquire);
                if (holder != 0 && holder != pid) || Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
}

/// Our connected socket, the identity (device, inode) it had when we made it, and whether it is a stream
/// socket (a `/dev/log` that is not a datagram socket; records then end with a NUL, as glibc sends them).
struct Conn {
    sock: OwnedFd,
    id: (u64, u64),
    stream: bool,
}

impl Conn {
    /// Sends the whole frame (with its NUL terminator on a stream) without raising `SIGPIPE`.
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        if !self.stream {
            return send_nosignal(self.sock.as_raw_fd(), frame).map(|_| ());
        }
        let mut rest = frame;
        let nul = [0u8];
        let mut tail: &[u8] = &nul;
        while !rest.is_empty() || !tail.is_empty() {
            if rest.is_empty() {
                rest = tail;
                tail = &[];
            }
            let n = send_nosignal(self.sock.as_raw_fd(), rest)?;
            rest = rest.get(n..).unwrap_or_default();
        }
        Ok(())
    }
}

/// `send(2)` with `MSG_NOSIGNAL`: a daemon that went away must not kill the program with `SIGPIPE`.
fn send_nosignal(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length for the duration of the call.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    match usize::try_from(n) {
        Ok(0) if !buf.is_empty() => Err(io::ErrorKind::WriteZero.into()),
        Ok(n) => Ok(n),
        Err(_) => Err(io::ErrorKind::Other.into()),
    }
}

/// The client's state: the socket, the retry throttle, the lost-record count, the cached time stamp and the
/// reused datagram buffer.
pub(crate) struct Sink {
    conn: Option<Conn>,
    retry_at: Option<Instant>,
    retry_after: Duration,
    dropped: u64,
    stamp_secs: u64,
    stamp: [u8; 15],
    buf: Vec<u8>,
}

impl Sink {
    pub(crate) const fn new() -> Sink {
        Sink {
            conn: None,
            retry_at: None,
            retry_after: RETRY_AFTER,
            dropped: 0,
            stamp_secs: u64::MAX,
            stamp: [b' '; 15],
            buf: Vec::new(),
        }
    }

    /// Sends one record to the socket at `path`; counts it as lost when it cannot.
    #[cfg(test)]
    pub(crate) fn log(&mut self, path: &Path, priority: i32, message: &[u8], now: Instant) {
        self.log_with(path, priority, || message, now);
    }

    /// As [`Sink::log`], with the record's text made by `message` only when a socket is connected (a record
    /// that cannot be sent is counted as lost all the same).
    pub(crate) fn log_with<M: AsRef<[u8]>>(
        &mut self,
        path: &Path,
        priority: i32,
        message: impl FnOnce() -> M,
        now: Instant,
    ) {
        if self.dropped > 0 && self.connected(path, now) {
            let notice = format!(
                "gss-negotiate: {} earlier audit record(s) could not be sent to syslog",
                self.dropped
            );
            let sev = libc::LOG_AUTHPRIV | libc::LOG_WARNING;
            if self.send(path, sev, notice.as_bytes()) {
                self.dropped = 0;
            }
        }
        if !(self.connected(path, now) && self.send(path, priority, message().as_ref())) {
            self.dropped += 1;
        }
    }

    /// True when a socket is connected (making one unless a recent attempt failed).
    fn connected(&mut self, path: &Path, now: Instant) -> bool {
        if let Some(c) = &self.conn {
            if fd_identity(c.sock.as_raw_fd()) == Some(c.id) {
                return true;
            }
            // The program closed our descriptor and the number now names something else (or nothing):
            // forget it without closing it.
            if let Some(c) = self.conn.take() {
                let _ = c.sock.into_raw_fd();
            }
        }
        if self.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        match connect(path) {
            Ok(c) => {
                self.conn = Some(c);
                self.retry_at = None;
                true
            }
            Err(_) => {
                self.retry_at = Some(now + self.retry_after);
                false
            }
        }
    }

    /// Frames and sends one datagram on the connected socket; on `ECONNREFUSED` (the daemon restarted) it
    /// reconnects once and resends.
    fn send(&mut self, path: &Path, priority: i32, message: &[u8]) -> bool {
        self.frame(priority, message);
        let Some(c) = &self.conn else {
            return false;
        };
        match c.send(&self.buf) {
            Ok(()) => true,
            Err(e) if reconnectable(&e) => {
                self.conn = None;
                match connect(path) {
                    Ok(c) => {
                        let ok = c.send(&self.buf).is_ok();
                        self.conn = Some(c);
                        ok
                    }
                    Err(_) => false,
                }
            }
            Err(_) => false,
        }
    }

    /// `<PRI>Mmm dd hh:mm:ss ident[pid]: message` into `self.buf`.
    fn frame(&mut self, priority: i32, message: &[u8]) {
        use std::io::Write as _;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if secs != self.stamp_secs {
            self.stamp = local_stamp(secs);
            self.stamp_secs = secs;
        }
        self.buf.clear();
        let _ = write!(self.buf, "<{priority}>");
        self.buf.extend_from_slice(&self.stamp);
        self.buf.push(b' ');
        self.buf.extend_from_slice(ident());
        let _ = write!(self.buf, "[{}]: ", pid());
        let room = MAX_MESSAGE.saturating_sub(self.buf.len());
        if message.contains(&0) {
            self.buf
                .extend(message.iter().copied().filter(|b| *b != 0).take(room));
        } else {
            // The usual case, copied at once (a byte-by-byte filter cost ~20 instructions per byte).
            self.buf
                .extend_from_slice(message.get(..room).unwrap_or(message));
        }
    }
}

fn reconnectable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNREFUSED | libc::ENOTCONN | libc::ECONNRESET | libc::EPIPE)
    )
}

/// Connects to the datagram socket at `path`, or, when it is a stream socket (`EPROTOTYPE`), as a stream.
fn connect(path: &Path) -> io::Result<Conn> {
    let (sock, stream): (OwnedFd, bool) = {
        let d = UnixDatagram::unbound()?;
        match d.connect(path) {
            Ok(()) => {
                d.set_write_timeout(Some(SEND_TIMEOUT))?;
                (d.into(), false)
            }
            Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                let s = UnixStream::connect(path)?;
                s.set_write_timeout(Some(SEND_TIMEOUT))?;
                (s.into(), true)
            }
            Err(e) => return Err(e),
        }
    };
    let id = fd_identity(sock.as_raw_fd()).ok_or_else(io::Error::last_os_error)?;
    Ok(Conn { sock, id, stream })
}

/// The (device, inode) of the open file `fd`, or `None` when `fd` is not open.
fn fd_identity(fd: RawFd) -> Option<(u64, u64)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a whole `struct stat` to the pointer, which points to one; any fd number is safe to
    // pass (a closed one gives EBADF).
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it initialised the struct.
    let st = unsafe { st.assume_init() };
    Some((st.st_dev, st.st_ino))
}

/// `Mmm dd hh:mm:ss` in local time, as glibc's syslog writes it (`%h %e %T`).
fn local_stamp(secs: u64) -> [u8; 15] {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let t = libc::time_t::try_from(secs).unwrap_or(0);
    let mut tm = std::mem::MaybeUninit::<libc::tm>::uninit();
    // SAFETY: both pointers point to live values of the right types; localtime_r is thread-safe.
    let ok = !unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) }.is_null();
    let mut out = *b"Jan  1 00:00:00";
    if !ok {
        return out;
    }
    // SAFETY: localtime_r returned non-null, so it filled `tm`.
    let tm = unsafe { tm.assume_init() };
    let two = |v: i32| -> [u8; 2] {
        let v = v.clamp(0, 99) as u8;
        [b'0' + v / 10, b'0' + v % 10]
    };
    let month = usize::try_from(tm.tm_mon).unwrap_or(0).min(11);
    out[..3].copy_from_slice(MONTHS[month]);
    let day = two(tm.tm_mday);
    out[4] = if day[0] == b'0' { b' ' } else { day[0] };
    out[5] = day[1];
    out[7..9].copy_from_slice(&two(tm.tm_hour));
    out[10..12].copy_from_slice(&two(tm.tm_min));
    out[13..15].copy_from_slice(&two(tm.tm_sec));
    out
}

extern "C" {
    /// glibc's short program name (what `syslog(3)` uses when `openlog` gave no ident).
    static program_invocation_short_name: *const libc::c_char;
}

/// The program's short name, printable ASCII (other bytes become `?`), read once.
fn ident() -> &'static [u8] {
    static IDENT: OnceLock<Vec<u8>> = OnceLock::new();
    IDENT.get_or_init(|| {
        // SAFETY: glibc initialises the variable before any constructor runs; it is a NUL-terminated string
        // that lives for the whole process (or null, checked).
        let p = unsafe { program_invocation_short_name };
        if p.is_null() {
            return b"?".to_vec();
        }
        // SAFETY: non-null, NUL-terminated, static (see above).
        let name = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes();
        let name: Vec<u8> = name
            .iter()
            .take(64)
            .map(|&b| {
                if b.is_ascii_graphic() && b != b'[' && b != b':' {
                    b
                } else {
                    b'?'
                }
            })
            .collect();
        if name.is_empty() {
            b"?".to_vec()
        } else {
            name
        }
    })
}

/// For tests: a fresh directory for a socket.
#[cfg(test)]
fn test_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gssneg-syslog-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(server: &UnixDatagram) -> String {
        let mut buf = [0u8; 8192];
        let n = server.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn server(path: &Path) -> UnixDatagram {
        let s = UnixDatagram::bind(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_nonblocking(false).unwrap();
        s
    }

    fn expect_framed(line: &str, pri: i32, msg: &str) {
        let head = format!("<{pri}>");
        assert!(line.starts_with(&head), "{line}");
        let rest = &line[head.len()..];
        // "Mmm dd hh:mm:ss "
        let b = rest.as_bytes();
        assert!(b[..3].iter().all(u8::is_ascii_alphabetic), "{line}");
        assert_eq!(
            (b[3], b[6], b[9], b[12], b[15]),
            (b' ', b' ', b':', b':', b' '),
            "{line}"
        );
        let tail = format!("[{}]: {msg}", std::process::id());
        assert!(rest[16..].ends_with(&tail), "{line}");
        assert!(!rest[16..rest.len() - tail.len()].is_empty(), "{line}");
    }

    #[test]
    fn frames_records_like_glibc_on_one_persistent_socket() {
        let dir = test_dir("frame");
        let path = dir.join("log");
        let srv = server(&path);
        let mut sink = Sink::new();
        let now = Instant::now();
        sink.log(
            &path,
            libc::LOG_AUTHPRIV | libc::LOG_NOTICE,
            b"gss-negotiate: one",
            now,
        );
        expect_framed(&recv(&srv), 85, "gss-negotiate: one");
        let id = sink.conn.as_ref().map(|c| c.id);
        sink.log(
            &path,
            libc::LOG_AUTHPRIV | libc::LOG_WARNING,
            b"two\0x",
            now,
        );
        expect_framed(&recv(&srv), 84, "twox");
        assert_eq!(sink.conn.as_ref().map(|c| c.id), id, "reconnected");
        assert_eq!(sink.dropped, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_socket_is_retried_after_the_throttle_and_losses_are_reported() {
        let dir = test_dir("retry");
        let path = dir.join("log");
        let mut sink = Sink::new();
        sink.retry_after = Duration::from_millis(200);
        let t0 = Instant::now();
        sink.log(&path, 85, b"lost 1", t0);
        sink.log(&path, 85, b"lost 2", t0);
        assert_eq!(sink.dropped, 2);
        let srv = server(&path);
        // Within the throttle: no attempt, one more lost.
        sink.log(&path, 85, b"lost 3", t0 + Duration::from_millis(100));
        assert_eq!(sink.dropped, 3);
        sink.log(&path, 85, b"arrives", t0 + Duration::from_millis(300));
        expect_framed(
            &recv(&srv),
            84,
            "gss-negotiate: 3 earlier audit record(s) could not be sent to syslog",
        );
        expect_framed(&recv(&srv), 85, "arrives");
        assert_eq!(sink.dropped, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_is_made_only_when_a_socket_takes_it_and_losses_still_count() {
        let dir = test_dir("lazy");
        let path = dir.join("log");
        let mut sink = Sink::new();
        sink.retry_after = Duration::from_millis(200);
        let t0 = Instant::now();
        let made = std::cell::Cell::new(0);
        let text = || {
            made.set(made.get() + 1);
            b"record".to_vec()
        };
        sink.log_with(&path, 85, text, t0);
        sink.log_with(&path, 85, text, t0 + Duration::from_millis(50));
        assert_eq!(
            (made.get(), sink.dropped),
            (0, 2),
            "no socket: counted, not formatted"
        );
        let srv = server(&path);
        sink.log_with(&path, 85, text, t0 + Duration::from_millis(300));
        assert_eq!((made.get(), sink.dropped), (1, 0));
        expect_framed(
            &recv(&srv),
            84,
            "gss-negotiate: 2 earlier audit record(s) could not be sent to syslog",
        );
        expect_framed(&recv(&srv), 85, "record");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn long_records_are_cut_at_the_limit_with_or_without_nul_bytes() {
        let mut sink = Sink::new();
        let plain = vec![b'a'; 2 * MAX_MESSAGE];
        sink.frame(85, &plain);
        assert_eq!(sink.buf.len(), MAX_MESSAGE);
        assert!(sink.buf.ends_with(b"aaaa"));
        let head = sink.buf.len() - sink.buf.iter().rev().take_while(|b| **b == b'a').count();
        let mut with_nul = plain.clone();
        with_nul.insert(3, 0);
        sink.frame(85, &with_nul);
        assert_eq!(sink.buf.len(), MAX_MESSAGE);
        assert!(!sink.buf.contains(&0));
        sink.frame(85, b"x\\0y");
        assert_eq!(&sink.buf[head..], br"x\0y");
        sink.frame(85, b"x\0y");
        assert_eq!(&sink.buf[head..], b"xy");
    }

    #[test]
    fn daemon_restart_reconnects_at_once() {
        let dir = test_dir("restart");
        let path = dir.join("log");
        let srv = server(&path);
        let mut sink = Sink::new();
        sink.log(&path, 85, b"before", Instant::now());
        expect_framed(&recv(&srv), 85, "before");
        drop(srv);
        std::fs::remove_file(&path).unwrap();
        let srv = server(&path);
        sink.log(&path, 85, b"after", Instant::now());
        expect_framed(&recv(&srv), 85, "after");
        assert_eq!(sink.dropped, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_descriptor_reused_by_the_program_is_left_alone() {
        let dir = test_dir("reuse");
        let path = dir.join("log");
        let srv = server(&path);
        let mut sink = Sink::new();
        sink.log(&path, 85, b"first", Instant::now());
        expect_framed(&recv(&srv), 85, "first");
        let fd = sink.conn.as_ref().unwrap().sock.as_raw_fd();
        assert!(!sink.conn.as_ref().unwrap().stream);
        // The program closes "its" descriptors and opens a pipe that lands on our number.
        let mut p = [0 as libc::c_int; 2];
        // SAFETY: `p` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: plain descriptor calls on numbers this test owns.
        unsafe {
            assert_eq!(libc::dup2(p[1], fd), fd);
            libc::close(p[1]);
        }
        sink.log(&path, 85, b"second", Instant::now());
        expect_framed(&recv(&srv), 85, "second");
        // Nothing went into the pipe, and the pipe's write end is still open (not closed by us).
        // SAFETY: `fd` is open (the pipe's write end); the flags call has no memory effects.
        assert!(unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0);
        // SAFETY: closing the descriptors this test made.
        unsafe {
            libc::close(fd);
            libc::fcntl(p[0], libc::F_SETFL, libc::O_NONBLOCK);
        }
        let mut b = [0u8; 16];
        // SAFETY: `b` is a writable buffer of the given length.
        let n = unsafe { libc::read(p[0], b.as_mut_ptr().cast(), b.len()) };
        assert_eq!(n, 0, "a record went into the program's pipe");
        // SAFETY: closing the read end this test made.
        unsafe { libc::close(p[0]) };
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stream_socket_gets_nul_terminated_records() {
        use std::io::Read as _;
        let dir = test_dir("stream");
        let path = dir.join("log");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let mut sink = Sink::new();
        sink.log(&path, 85, b"one", Instant::now());
        sink.log(&path, 84, b"two", Instant::now());
        assert_eq!(sink.dropped, 0);
        assert!(sink.conn.as_ref().is_some_and(|c| c.stream));
        let (mut peer, _) = listener.accept().unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        drop(sink);
        let mut all = Vec::new();
        peer.read_to_end(&mut all).unwrap();
        let records: Vec<&[u8]> = all.split(|b| *b == 0).collect();
        assert_eq!(records.len(), 3, "two NUL-terminated records: {all:?}");
        expect_framed(std::str::from_utf8(records[0]).unwrap(), 85, "one");
        expect_framed(std::str::from_utf8(records[1]).unwrap(), 84, "two");
        assert!(records[2].is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_left_by_another_process_is_not_waited_for() {
        let lock = Mutex::new(Sink::new());
        let owner = AtomicU32::new(0);
        let held = lock.lock().unwrap();
        // Held by a thread of this process: wait up to LOCK_WAIT, then give up.
        owner.store(std::process::id(), Ordering::Release);
        let t0 = Instant::now();
        assert!(lock_bounded(&lock, &owner).is_none());
        assert!(t0.elapsed() >= LOCK_WAIT);
        // Held by a thread of the parent (as after fork): give up at once.
        owner.store(std::process::id() + 1, Ordering::Release);
        let t0 = Instant::now();
        assert!(lock_bounded(&lock, &owner).is_none());
        assert!(t0.elapsed() < LOCK_WAIT);
        drop(held);
        owner.store(0, Ordering::Release);
        assert!(lock_bounded(&lock, &owner).is_some());
        assert_eq!(owner.load(Ordering::Acquire), std::process::id());
    }

    #[test]
    fn local_stamp_has_glibc_layout() {
        let s = local_stamp(1_700_000_000);
        let s = std::str::from_utf8(&s).unwrap();
        assert_eq!(s.len(), 15);
        let b = s.as_bytes();
        assert!(b[..3].iter().all(u8::is_ascii_alphabetic), "{s}");
        assert_eq!((b[3], b[6], b[9], b[12]), (b' ', b' ', b':', b':'), "{s}");
        assert!(
            b[5].is_ascii_digit() && (b[4] == b' ' || b[4].is_ascii_digit()),
            "{s}"
        );
    }
}
