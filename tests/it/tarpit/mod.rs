//! An SMTP peer for the hung-peer tests: it accepts and greets, then reads nothing and
//! answers nothing, the way a relay that hangs mid-exchange behaves; later it can pass
//! new connections through to a real server on the same port.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// An SMTP peer that accepts and greets, then reads nothing and answers nothing — until
/// it is told to pass new connections through to a real server.
pub struct Tarpit {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    forward_to: Arc<Mutex<Option<u16>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Tarpit {
    pub fn start() -> Tarpit {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tarpit");
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let forward_to: Arc<Mutex<Option<u16>>> = Arc::default();
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (count, target, keep) = (accepted.clone(), forward_to.clone(), held.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let forward = *target.lock().unwrap();
                match forward {
                    Some(port) => {
                        thread::spawn(move || pass_through(stream, port));
                    }
                    None => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(b"220 tarpit.example ESMTP\r\n");
                        keep.lock().unwrap().push(stream);
                    }
                }
            }
        });
        Tarpit {
            port,
            accepted,
            forward_to,
            held,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn forward_to(&self, port: u16) {
        *self.forward_to.lock().unwrap() = Some(port);
        for stream in self.held.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn pass_through(client: TcpStream, port: u16) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let _ = std::io::copy(&mut s_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
}
