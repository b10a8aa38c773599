//! What the embassy firmwares share: a fixed-capacity loopback network driver for embassy-net,
//! an embassy-time driver on SysTick, and a `TcpSocket` wrapper for wsmachine's async adapter.

use core::cell::RefCell;
use core::task::Waker;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::singleton;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_net::driver::{self, Capabilities, HardwareAddress, LinkState};
use embassy_net::tcp::TcpSocket;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time_queue_utils::Queue;
use embedded_io_async::{Read, Write};
use heapless::{Deque, Vec};

/// The largest IP packet; each of the loopback's slots holds one.
pub const MTU: usize = 1500;
/// Packets the loopback holds at once.
pub const SLOTS: usize = 4;
/// The stack's address; both ends of every connection are here.
pub const ADDR: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);

/// Starts an embassy-net stack on a [`Loopback`] (its runner in a task of its own) with the
/// static address [`ADDR`], room for two sockets, and waits until it is up. Once only.
pub async fn loopback_stack(spawner: Spawner) -> Result<Stack<'static>, crate::Failed> {
    let resources = singleton!(: StackResources<2> = StackResources::new())
        .ok_or(crate::Failed("stack: started twice"))?;
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ADDR, 8),
        gateway: None,
        dns_servers: Vec::new(),
    });
    let (stack, runner) = embassy_net::new(Loopback::new(), config, resources, 0x5eed_0002);
    spawner.spawn(net(runner).map_err(|_| crate::Failed("stack: spawn"))?);
    stack.wait_config_up().await;
    Ok(stack)
}

/// Runs the network stack: moves packets between the sockets and the loopback driver.
#[embassy_executor::task]
async fn net(mut runner: Runner<'static, Loopback>) -> ! {
    runner.run().await
}

/// `TcpSocket` for the adapter, with a `flush` that does not wait. The adapter flushes the
/// stream whenever its `tx` is written out, that is after every send call and every piece of
/// `send_payload`; `TcpSocket::flush` waits until the peer has acknowledged all data, so each
/// piece would cost a round trip plus the peer's delayed ACK (10 ms in smoltcp): 64 KiB in
/// 200-byte pieces took 3.3 s that way. smoltcp sends what is in the socket's buffer without
/// a flush, so here `flush` returns at once; the real one runs before the socket is dropped.
pub struct Tcp<'a>(pub TcpSocket<'a>);

impl embedded_io_async::ErrorType for Tcp<'_> {
    type Error = embassy_net::tcp::Error;
}

impl Read for Tcp<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl Write for Tcp<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A packet in one of the loopback's slots.
pub type Packet = Vec<u8, MTU>;

/// A loopback network driver of fixed capacity: what the stack transmits it receives, in
/// order. It wakes the stack's runner when a packet arrives or a slot frees up.
pub struct Loopback {
    ring: Deque<Packet, SLOTS>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

impl Loopback {
    /// An empty loopback.
    pub const fn new() -> Self {
        Self {
            ring: Deque::new(),
            rx_waker: None,
            tx_waker: None,
        }
    }
}

impl Default for Loopback {
    fn default() -> Self {
        Self::new()
    }
}

fn register(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

impl driver::Driver for Loopback {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut core::task::Context<'_>) -> Option<(RxToken, TxToken<'_>)> {
        let Some(packet) = self.ring.pop_front() else {
            register(&mut self.rx_waker, cx.waker());
            return None;
        };
        if let Some(waker) = self.tx_waker.take() {
            waker.wake();
        }
        // Taking the packet out freed the slot its reply (a TCP ACK) may need.
        Some((RxToken(packet), TxToken(self)))
    }

    fn transmit(&mut self, cx: &mut core::task::Context<'_>) -> Option<TxToken<'_>> {
        if self.ring.is_full() {
            register(&mut self.tx_waker, cx.waker());
            return None;
        }
        Some(TxToken(self))
    }

    fn link_state(&mut self, _: &mut core::task::Context<'_>) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ip
    }
}

/// A received packet.
pub struct RxToken(Packet);

impl driver::RxToken for RxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.0)
    }
}

/// Room for a packet to send.
pub struct TxToken<'a>(&'a mut Loopback);

impl driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = Packet::new();
        // The stack never asks for more than the MTU; a longer packet would be cut short.
        let _ = packet.resize(len.min(MTU), 0);
        let result = f(&mut packet);
        // `transmit` checked for a free slot, and `receive` freed one.
        let _ = self.0.ring.push_back(packet);
        if let Some(waker) = self.0.rx_waker.take() {
            waker.wake();
        }
        result
    }
}

/// QEMU's mps2-an386 runs its Cortex-M4 at 25 MHz: SysTick fires every millisecond.
const CORE_HZ: u32 = 25_000_000;

/// embassy-time's driver: a millisecond count kept by SysTick (`tick-hz-1_000`), and a queue
/// of the timers to wake.
pub struct SysTickTime {
    state: Mutex<RefCell<Ticks>>,
}

struct Ticks {
    now: u64,
    /// When the earliest timer in `queue` is due.
    next: u64,
    queue: Queue,
}

embassy_time_driver::time_driver_impl!(static TIME: SysTickTime = SysTickTime {
    state: Mutex::new(RefCell::new(Ticks { now: 0, next: u64::MAX, queue: Queue::new() })),
});

impl embassy_time_driver::Driver for SysTickTime {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref(cs).now)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut t = self.state.borrow_ref_mut(cs);
            if t.queue.schedule_wake(at, waker) {
                let now = t.now;
                t.next = t.queue.next_expiration(now);
            }
        });
    }
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let mut t = TIME.state.borrow_ref_mut(cs);
        t.now += 1;
        if t.now >= t.next {
            let now = t.now;
            t.next = t.queue.next_expiration(now);
        }
    });
}

/// Starts SysTick: embassy time begins.
pub fn start_systick() {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        return;
    };
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(CORE_HZ / 1000 - 1);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();
}
