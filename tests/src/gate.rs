//! An HTTP gate in front of a sandbox OpenBao, for tests that need a revocation run to stop at
//! an exact point: it forwards the first `limit` revoke-accessor requests, then holds the rest
//! until released (a run can be killed while requests are on the wire) or dies (closes every
//! connection and its port: a backend that goes away mid-run). It counts what reached the
//! backend per accessor, so "never sent twice" is checked, not assumed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AfterLimit {
    /// Hold every further revocation until released.
    Hold,
    /// Close every connection and the port.
    Die,
}

struct GateState {
    upstream: SocketAddr,
    limit: AtomicUsize,
    after: AfterLimit,
    revokes_seen: AtomicUsize,
    forwarded: Mutex<HashMap<String, u32>>,
    held: AtomicUsize,
    released: (Mutex<bool>, Condvar),
    dead: AtomicBool,
}

pub struct Gate {
    addr: SocketAddr,
    state: Arc<GateState>,
}

impl Gate {
    pub fn start(upstream: &str, limit: usize, after: AfterLimit) -> Gate {
        let up: url_lite::Url = url_lite::parse(upstream);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(GateState {
            upstream: up.addr,
            limit: AtomicUsize::new(limit),
            after,
            revokes_seen: AtomicUsize::new(0),
            forwarded: Mutex::new(HashMap::new()),
            held: AtomicUsize::new(0),
            released: (Mutex::new(false), Condvar::new()),
            dead: AtomicBool::new(false),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.dead.load(Ordering::SeqCst) {
                    break; // dropping the listener closes the port
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || handle(conn, &st, addr));
            }
        });
        Gate { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Lets held requests through and stops holding.
    pub fn release(&self) {
        self.state.limit.store(usize::MAX, Ordering::SeqCst);
        let (lock, cv) = &self.state.released;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }

    pub fn forwarded(&self) -> HashMap<String, u32> {
        self.state.forwarded.lock().unwrap().clone()
    }
}

/// Minimal URL parsing for `http://host:port`.
mod url_lite {
    use std::net::{SocketAddr, ToSocketAddrs};
    pub struct Url {
        pub addr: SocketAddr,
    }
    pub fn parse(s: &str) -> Url {
        let hostport = s.trim_start_matches("http://").trim_end_matches('/');
        Url {
            addr: hostport.to_socket_addrs().unwrap().next().unwrap(),
        }
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let end = line == b"\r\n";
        head.extend_from_slice(&line);
        if end {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split_whitespace().nth(1)?.to_string();
    let len = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((path, head, body))
}

fn handle(client: TcpStream, st: &GateState, me: SocketAddr) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let Some((path, head, body)) = read_request(&mut reader) else {
        return;
    };
    if st.dead.load(Ordering::SeqCst) {
        return;
    }
    let revoke = path == "/v1/auth/token/revoke-accessor";
    let mut was_held = false;
    if revoke {
        let n = st.revokes_seen.fetch_add(1, Ordering::SeqCst);
        if n >= st.limit.load(Ordering::SeqCst) {
            match st.after {
                AfterLimit::Die => {
                    st.dead.store(true, Ordering::SeqCst);
                    let _ = TcpStream::connect(me); // wake the accept loop so it exits
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                AfterLimit::Hold => {
                    was_held = true;
                    st.held.fetch_add(1, Ordering::SeqCst);
                    let (lock, cv) = &st.released;
                    let mut released = lock.lock().unwrap();
                    while !*released {
                        released = cv.wait(released).unwrap();
                    }
                    drop(released);
                }
            }
        }
    }
    // One request per upstream connection: ask the server to close, read to the end.
    let mut up = TcpStream::connect(st.upstream).unwrap();
    let head = String::from_utf8_lossy(&head).to_string();
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&body).unwrap();
    let mut resp = Vec::new();
    let _ = up.read_to_end(&mut resp);
    if revoke {
        let accessor = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["accessor"].as_str().map(str::to_string))
            .unwrap_or_default();
        *st.forwarded.lock().unwrap().entry(accessor).or_default() += 1;
    }
    if was_held {
        st.held.fetch_sub(1, Ordering::SeqCst);
    }
    let mut client = client;
    let _ = client.write_all(&resp);
    let _ = client.shutdown(Shutdown::Both);
}
