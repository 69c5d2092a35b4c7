//! A TCP proxy between nudged and a server that can black-hole (no bytes, no FIN) or reset
//! its connections, to test timeouts and reconnects without touching the server.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::sys;

/// How often idle proxy threads look at the stall/reset flags.
const PROXY_TICK: Duration = Duration::from_millis(20);

#[derive(Default)]
struct ProxyState {
    stalled: AtomicBool,
    shutdown: AtomicBool,
    /// Live connections: (client side, server side, reset flag, pump threads).
    conns: Mutex<Vec<ProxyConn>>,
}

struct ProxyConn {
    sockets: [TcpStream; 2],
    reset: Arc<AtomicBool>,
    pumps: Vec<JoinHandle<()>>,
}

/// TCP proxy 127.0.0.1:port() → 127.0.0.1:target that can black-hole or reset connections,
/// to test timeouts and reconnects without touching the server.
pub struct StallProxy {
    port: u16,
    state: Arc<ProxyState>,
    acceptor: Option<JoinHandle<()>>,
}

impl StallProxy {
    pub fn start(target_port: u16) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the StallProxy listener");
        let port = listener.local_addr().expect("StallProxy local_addr").port();
        // Non-blocking accept so Drop can stop the thread without a wake-up connection.
        listener
            .set_nonblocking(true)
            .expect("make the StallProxy listener non-blocking");
        let state = Arc::new(ProxyState::default());
        let st = Arc::clone(&state);
        let acceptor = thread::spawn(move || {
            while !st.shutdown.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => proxy_connection(&st, client, target_port),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        prune_finished(&st);
                        thread::sleep(PROXY_TICK)
                    }
                    Err(e) => panic!("StallProxy accept failed: {e}"),
                }
            }
        });
        StallProxy {
            port,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stop moving bytes both ways; sockets stay open and no FIN is sent. Connections made
    /// while stalled are accepted but stalled too, like a black-holed route.
    pub fn stall(&self) {
        self.state.stalled.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.state.stalled.store(false, Ordering::SeqCst);
    }

    /// Number of connections currently proxied (wait for the client to connect before stalling).
    pub fn connection_count(&self) -> usize {
        prune_finished(&self.state);
        self.state.conns.lock().expect("proxy lock").len()
    }

    /// Drops every connection with a TCP RST on both sides (SO_LINGER 0); returns once the
    /// sockets are closed. New connections are still accepted afterwards.
    pub fn reset_all(&self) {
        let conns: Vec<ProxyConn> =
            std::mem::take(&mut *self.state.conns.lock().expect("proxy lock"));
        for conn in conns {
            for s in &conn.sockets {
                sys::set_linger_zero(s.as_raw_fd());
            }
            conn.reset.store(true, Ordering::SeqCst);
            // The pumps hold the other handles to these sockets; the RST goes out when the
            // last handle closes, so wait for them.
            for pump in conn.pumps {
                let _ = pump.join();
            }
        }
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for conn in std::mem::take(&mut *self.state.conns.lock().unwrap_or_else(|p| p.into_inner()))
        {
            for s in &conn.sockets {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Forgets connections whose both directions ended, closing our handles to their sockets.
fn prune_finished(state: &ProxyState) {
    let mut conns = state.conns.lock().expect("proxy lock");
    conns.retain(|c| !c.pumps.iter().all(|p| p.is_finished()));
}

fn proxy_connection(state: &Arc<ProxyState>, client: TcpStream, target_port: u16) {
    let _ = client.set_nonblocking(false);
    let server = match TcpStream::connect(("127.0.0.1", target_port)) {
        Ok(s) => s,
        Err(_) => return, // target down: closing the client is what a dead server looks like
    };
    let reset = Arc::new(AtomicBool::new(false));
    let clone = |s: &TcpStream| s.try_clone().expect("clone a proxied socket");
    let pumps = vec![
        spawn_pump(
            Arc::clone(state),
            Arc::clone(&reset),
            clone(&client),
            clone(&server),
        ),
        spawn_pump(
            Arc::clone(state),
            Arc::clone(&reset),
            clone(&server),
            clone(&client),
        ),
    ];
    let conn = ProxyConn {
        sockets: [client, server],
        reset,
        pumps,
    };
    state.conns.lock().expect("proxy lock").push(conn);
}

/// Copies `from` → `to` until EOF (passed on as a FIN), a reset, or proxy shutdown. Short
/// timeouts let it notice stall/reset flags; while stalled it reads nothing, so the bytes wait
/// in kernel buffers and the peer sees a silent connection.
fn spawn_pump(
    state: Arc<ProxyState>,
    reset: Arc<AtomicBool>,
    mut from: TcpStream,
    mut to: TcpStream,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let _ = from.set_read_timeout(Some(PROXY_TICK));
        let _ = to.set_write_timeout(Some(PROXY_TICK));
        let stop = || reset.load(Ordering::SeqCst) || state.shutdown.load(Ordering::SeqCst);
        let mut buf = [0u8; 16 * 1024];
        while !stop() {
            if state.stalled.load(Ordering::SeqCst) {
                thread::sleep(PROXY_TICK);
                continue;
            }
            let n = match from.read(&mut buf) {
                Ok(0) => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
            };
            let mut sent = 0;
            while sent < n && !stop() {
                if state.stalled.load(Ordering::SeqCst) {
                    thread::sleep(PROXY_TICK);
                    continue;
                }
                match to.write(&buf[sent..n]) {
                    Ok(0) => return,
                    Ok(k) => sent += k,
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(_) => return,
                }
            }
        }
    })
}
