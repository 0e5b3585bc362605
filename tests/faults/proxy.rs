//! A small TCP proxy of the test's own between ipls and Postgres (or ipls and its upstream),
//! which can cut every connection with a reset, refuse new ones, stall (connections stay
//! open, no byte passes), answer every new connection itself with fixed bytes (a failing
//! HTTP server), or pass requests on and cut each connection when its answer comes back
//! (the upstream acted; its answer never arrives).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FORWARD: u8 = 0;
const REFUSE: u8 = 1;
const STALL: u8 = 2;
const ANSWER: u8 = 3;
const CUT_ANSWERS: u8 = 4;

struct Shared {
    mode: AtomicU8,
    open: Mutex<Vec<TcpStream>>,
    closed: AtomicBool,
    /// What ANSWER mode answers.
    answer: Mutex<Vec<u8>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

fn reset(stream: &TcpStream) {
    // Linger 0: closing sends RST instead of FIN, as a failing network or server would.
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let _ = stream.shutdown(Shutdown::Both);
}

/// Copies `from` to `to`; `answers` is the server-to-client direction, which CUT_ANSWERS
/// replaces with a reset of the client.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>, answers: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while shared.mode.load(Ordering::Relaxed) == STALL {
            std::thread::sleep(Duration::from_millis(5));
        }
        if answers && shared.mode.load(Ordering::Relaxed) == CUT_ANSWERS {
            reset(&to);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// ANSWER mode: reads what the client sends first, then writes the fixed answer and closes.
fn answer(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16 * 1024];
    let _ = client.read(&mut buf);
    let bytes = shared.answer.lock().unwrap().clone();
    let _ = client.write_all(&bytes);
    let _ = client.shutdown(Shutdown::Both);
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(FORWARD),
            open: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            answer: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.closed.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                match accepting.mode.load(Ordering::Relaxed) {
                    REFUSE => {
                        reset(&client);
                        continue;
                    }
                    ANSWER => {
                        let shared = accepting.clone();
                        std::thread::spawn(move || answer(client, &shared));
                        continue;
                    }
                    _ => {}
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    reset(&client);
                    continue;
                };
                {
                    let mut open = accepting.open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (a, b) = (accepting.clone(), accepting.clone());
                std::thread::spawn(move || pump(client, server, a, false));
                std::thread::spawn(move || pump(s2, c2, b, true));
            }
        });
        Self { addr, shared }
    }

    /// Resets every open connection.
    pub fn cut_all(&self) {
        for stream in self.shared.open.lock().unwrap().drain(..) {
            reset(&stream);
        }
    }

    /// New connections are reset at once.
    pub fn refuse(&self) {
        self.shared.mode.store(REFUSE, Ordering::Relaxed);
    }

    /// Connections stay open but no byte passes, either way.
    pub fn stall(&self) {
        self.shared.mode.store(STALL, Ordering::Relaxed);
    }

    /// New connections are answered with `bytes` by the proxy itself (open ones are reset).
    pub fn answer_with(&self, bytes: &[u8]) {
        *self.shared.answer.lock().unwrap() = bytes.to_vec();
        self.shared.mode.store(ANSWER, Ordering::Relaxed);
        self.cut_all();
    }

    /// Requests pass; each connection is reset when its answer comes back, unread.
    pub fn cut_answers(&self) {
        self.shared.mode.store(CUT_ANSWERS, Ordering::Relaxed);
    }

    pub fn forward(&self) {
        self.shared.mode.store(FORWARD, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.cut_all();
        let _ = TcpStream::connect(self.addr);
    }
}
