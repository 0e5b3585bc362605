//! A small TCP proxy of the test's own between ipls and Postgres, which can cut every
//! connection with a reset, refuse new ones, or stall (connections stay open, no byte
//! passes).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FORWARD: u8 = 0;
const REFUSE: u8 = 1;
const STALL: u8 = 2;

struct Shared {
    mode: AtomicU8,
    open: Mutex<Vec<TcpStream>>,
    closed: AtomicBool,
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

fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while shared.mode.load(Ordering::Relaxed) == STALL {
            std::thread::sleep(Duration::from_millis(5));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(FORWARD),
            open: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.closed.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                if accepting.mode.load(Ordering::Relaxed) == REFUSE {
                    reset(&client);
                    continue;
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
                std::thread::spawn(move || pump(client, server, a));
                std::thread::spawn(move || pump(s2, c2, b));
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
