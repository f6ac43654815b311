//! The PC keyboard (xv6's `kbd.c` and `kbd.h`): turns what the keyboard sends
//! into the ASCII bytes the console reads.
//!
//! A PC keyboard does not send characters. For every key it sends a *scan
//! code*, a number for the key's position, once when the key goes down and
//! again, with bit 7 set, when it comes up. Which character a key means
//! depends on the modifier keys held at the time (Shift, Ctrl) and on Caps
//! Lock, so the kernel has to follow those keys itself: that state is `Kbd`.
//!
//! The codes are those of scan code set 1, which the i8042 keyboard
//! controller delivers on QEMU and Bochs (it translates whatever the keyboard
//! itself sends into set 1). A few keys added after the original PC keyboard
//! (arrows, the keypad's Enter, the right Ctrl) send two bytes: the prefix
//! 0xE0, then a code.
//!
//! `Kbd::decode` is pure logic, tested on the host; `kbdgetc` is the part
//! that reads the controller's I/O ports.

/// Set in a scan code when the key is released rather than pressed.
const RELEASE: u8 = 0x80;
/// The prefix of the two-byte codes of the keys the original PC lacked.
const E0_ESCAPE: u8 = 0xE0;

// Scan codes the decoder needs by name.
const LEFT_SHIFT: u8 = 0x2A;
const RIGHT_SHIFT: u8 = 0x36;
/// Left Ctrl; after E0, right Ctrl.
const CTRL: u8 = 0x1D;
const CAPS_LOCK: u8 = 0x3A;
/// Enter; after E0, the keypad's Enter.
const ENTER: u8 = 0x1C;
/// Space, the highest scan code in the tables: keys above it (F1 to F12, the keypad
/// digits, Num Lock, ...) give no character.
const SPACE: u8 = 0x39;

/// The tables' entry for a key that gives no character.
const NO_CHAR: u8 = 0;
// ASCII control characters that keys type.
const ASCII_BS: u8 = 0x08;
const ASCII_ESC: u8 = 0x1B;
/// Ctrl+letter keeps the letter's low five bits, which makes it the ASCII
/// control code for that letter: Ctrl+A is 0x01, Ctrl+D 0x04, Ctrl+U 0x15.
const CONTROL_MASK: u8 = 0x1F;

const TABLE_LEN: usize = SPACE as usize + 1;

/// What each key of a US keyboard types, indexed by scan code. The modifier
/// keys have entries only to keep the later keys at their codes.
#[rustfmt::skip]
static NORMAL: [u8; TABLE_LEN] = [
    // 0x00: the top row, Escape to Tab
    NO_CHAR, ASCII_ESC,
    b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'-', b'=',
    ASCII_BS, b'\t',
    // 0x10: Q to Enter, then left Ctrl
    b'q', b'w', b'e', b'r', b't', b'y', b'u', b'i', b'o', b'p', b'[', b']',
    b'\n', NO_CHAR,
    // 0x1E: A to backquote, then left Shift
    b'a', b's', b'd', b'f', b'g', b'h', b'j', b'k', b'l', b';', b'\'', b'`',
    NO_CHAR,
    // 0x2B: backslash to slash, then right Shift, keypad *, Alt, Space
    b'\\', b'z', b'x', b'c', b'v', b'b', b'n', b'm', b',', b'.', b'/',
    NO_CHAR, b'*', NO_CHAR, b' ',
];

/// What each key types with Shift held.
#[rustfmt::skip]
static SHIFTED: [u8; TABLE_LEN] = [
    // 0x00: the top row, Escape to Tab
    NO_CHAR, ASCII_ESC,
    b'!', b'@', b'#', b'$', b'%', b'^', b'&', b'*', b'(', b')', b'_', b'+',
    ASCII_BS, b'\t',
    // 0x10: Q to Enter, then left Ctrl
    b'Q', b'W', b'E', b'R', b'T', b'Y', b'U', b'I', b'O', b'P', b'{', b'}',
    b'\n', NO_CHAR,
    // 0x1E: A to backquote, then left Shift
    b'A', b'S', b'D', b'F', b'G', b'H', b'J', b'K', b'L', b':', b'"', b'~',
    NO_CHAR,
    // 0x2B: backslash to slash, then right Shift, keypad *, Alt, Space
    b'|', b'Z', b'X', b'C', b'V', b'B', b'N', b'M', b'<', b'>', b'?',
    NO_CHAR, b'*', NO_CHAR, b' ',
];

/// The keyboard's state between scan codes.
pub struct Kbd {
    shift: bool,
    ctrl: bool,
    caps_lock: bool,
    /// The last byte was E0: the next one is the second half of a code.
    e0: bool,
}

impl Default for Kbd {
    fn default() -> Kbd {
        Kbd::new()
    }
}

impl Kbd {
    /// No modifier held, Caps Lock off (as the keyboard starts).
    pub const fn new() -> Kbd {
        Kbd {
            shift: false,
            ctrl: false,
            caps_lock: false,
            e0: false,
        }
    }

    /// Take one byte from the keyboard: the ASCII byte of the key pressed,
    /// or None for a release, a modifier, a key with no character (F1,
    /// arrows, ...) or the first byte of a two-byte code.
    ///
    /// Ctrl turns a letter into its control code (Ctrl+D is 0x04) and leaves
    /// other keys as they are; Caps Lock swaps the case of letters only.
    pub fn decode(&mut self, scancode: u8) -> Option<u8> {
        if scancode == E0_ESCAPE {
            self.e0 = true;
            return None;
        }
        let released = scancode & RELEASE != 0;
        let key = scancode & !RELEASE;
        if self.e0 {
            self.e0 = false;
            return self.decode_e0(key, released);
        }
        match key {
            LEFT_SHIFT | RIGHT_SHIFT => self.shift = !released,
            CTRL => self.ctrl = !released,
            CAPS_LOCK if !released => self.caps_lock = !self.caps_lock,
            _ if !released => return self.ascii(key),
            _ => {}
        }
        None
    }

    /// The second byte of an E0 code. The keypad's Enter is Enter and the
    /// right Ctrl is Ctrl; the rest give no character. In particular E0 2A
    /// and E0 AA, which some keys send around their own code, are not Shift.
    fn decode_e0(&mut self, key: u8, released: bool) -> Option<u8> {
        match key {
            ENTER if !released => Some(b'\n'),
            CTRL => {
                self.ctrl = !released;
                None
            }
            _ => None,
        }
    }

    /// The character of the pressed `key` under the current modifiers.
    fn ascii(&self, key: u8) -> Option<u8> {
        let table = if self.shift { &SHIFTED } else { &NORMAL };
        let c = *table.get(usize::from(key))?;
        if c == NO_CHAR {
            None
        } else if c.is_ascii_alphabetic() && self.ctrl {
            Some(c & CONTROL_MASK)
        } else if c.is_ascii_alphabetic() && self.caps_lock {
            Some(swap_case(c))
        } else {
            Some(c)
        }
    }
}

fn swap_case(letter: u8) -> u8 {
    if letter.is_ascii_lowercase() {
        letter.to_ascii_uppercase()
    } else {
        letter.to_ascii_lowercase()
    }
}

// I/O ports of the i8042 keyboard controller.
#[cfg(kernel)]
const STATUS_PORT: u16 = 0x64;
#[cfg(kernel)]
const DATA_PORT: u16 = 0x60;
/// Status bit: the output buffer is full, a byte waits at the data port.
#[cfg(kernel)]
const STATUS_OUTPUT_FULL: usize = 0;

/// The decoder's state (shift, ctrl, ...) between interrupts.
#[cfg(kernel)]
static KBD: crate::spinlock::Spinlock<Kbd> =
    crate::spinlock::Spinlock::new(crate::lockorder::KBD, Kbd::new());

/// The scan code waiting at the keyboard controller, if any.
#[cfg(kernel)]
fn read_scancode() -> Option<u8> {
    use bit_field::BitField;
    use x86::io::inb;

    // SAFETY: reading the i8042 status register is an I/O port access with
    // no memory effects, and it does not change the controller's state.
    let status = unsafe { inb(STATUS_PORT) };
    if !status.get_bit(STATUS_OUTPUT_FULL) {
        return None;
    }
    // SAFETY: an I/O port access with no memory effects; it takes the byte
    // the status register says is waiting, and the kernel is the
    // controller's only reader.
    Some(unsafe { inb(DATA_PORT) })
}

/// The statistics of the keyboard's lock.
#[cfg(kernel)]
pub fn lock_stats(mut f: impl FnMut(crate::spinlock::LockStats)) {
    f(KBD.stats());
}

/// Send the keyboard interrupt (IRQ 1) to the CPU calling this (the boot
/// CPU).
#[cfg(kernel)]
pub fn kbdinit() {
    crate::ioapic::ioapicenable(crate::traps::IRQ_KBD, crate::cpu::apicid());
}

/// The keyboard interrupt (xv6's `kbdintr`): decode the waiting scan codes
/// and hand the characters to the console. While the console is full the
/// byte stays in the controller; `readline` calls this again once it has
/// made room.
#[cfg(kernel)]
pub fn kbdintr() {
    let mut kbd = KBD.lock();
    crate::console::consoleintr(|| {
        loop {
            if let Some(c) = kbd.decode(read_scancode()?) {
                return Some(c);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scan codes of keys the tests press.
    const KEY_1: u8 = 0x02;
    const KEY_A: u8 = 0x1E;
    const KEY_C: u8 = 0x2E;
    const KEY_D: u8 = 0x20;
    const KEY_U: u8 = 0x16;
    const KEY_SLASH: u8 = 0x35;
    const ESCAPE: u8 = 0x01;
    const BACKSPACE: u8 = 0x0E;
    const TAB: u8 = 0x0F;
    const UP_ARROW: u8 = 0x48;
    const OVERRUN: u8 = 0x00;
    const F1: u8 = 0x3B;
    const F12: u8 = 0x58;
    const UNASSIGNED: u8 = 0x7F;

    /// Press and release `key`; what the press gave.
    fn tap(kbd: &mut Kbd, key: u8) -> Option<u8> {
        let c = kbd.decode(key);
        assert_eq!(kbd.decode(key | RELEASE), None, "release of {key:#04x}");
        c
    }

    /// What tapping each key in `keys` types, as a string.
    fn typed(kbd: &mut Kbd, keys: impl IntoIterator<Item = u8>) -> String {
        keys.into_iter()
            .map(|k| tap(kbd, k).map_or('?', char::from))
            .collect()
    }

    #[test]
    fn press_gives_the_letter_and_release_nothing() {
        let mut kbd = Kbd::new();
        assert_eq!(kbd.decode(KEY_A), Some(b'a'));
        assert_eq!(kbd.decode(KEY_A | RELEASE), None);
    }

    #[test]
    fn the_us_layout() {
        let mut kbd = Kbd::new();
        assert_eq!(typed(&mut kbd, 0x02..=0x0D), "1234567890-=");
        assert_eq!(typed(&mut kbd, 0x10..=0x1B), "qwertyuiop[]");
        assert_eq!(typed(&mut kbd, 0x1E..=0x29), "asdfghjkl;'`");
        assert_eq!(typed(&mut kbd, 0x2B..=0x35), "\\zxcvbnm,./");
        kbd.decode(LEFT_SHIFT);
        assert_eq!(typed(&mut kbd, 0x02..=0x0D), "!@#$%^&*()_+");
        assert_eq!(typed(&mut kbd, 0x10..=0x1B), "QWERTYUIOP{}");
        assert_eq!(typed(&mut kbd, 0x1E..=0x29), "ASDFGHJKL:\"~");
        assert_eq!(typed(&mut kbd, 0x2B..=0x35), "|ZXCVBNM<>?");
    }

    #[test]
    fn whitespace_and_editing_keys() {
        let mut kbd = Kbd::new();
        assert_eq!(tap(&mut kbd, ENTER), Some(b'\n'));
        assert_eq!(tap(&mut kbd, BACKSPACE), Some(0x08));
        assert_eq!(tap(&mut kbd, TAB), Some(b'\t'));
        assert_eq!(tap(&mut kbd, SPACE), Some(b' '));
        assert_eq!(tap(&mut kbd, ESCAPE), Some(0x1B));
    }

    #[test]
    fn shift_changes_case_and_digits_until_released() {
        for shift in [LEFT_SHIFT, RIGHT_SHIFT] {
            let mut kbd = Kbd::new();
            assert_eq!(kbd.decode(shift), None);
            assert_eq!(tap(&mut kbd, KEY_A), Some(b'A'));
            assert_eq!(tap(&mut kbd, KEY_1), Some(b'!'));
            assert_eq!(kbd.decode(shift | RELEASE), None);
            assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
            assert_eq!(tap(&mut kbd, KEY_1), Some(b'1'));
        }
    }

    #[test]
    fn caps_lock_swaps_the_case_of_letters_only() {
        let mut kbd = Kbd::new();
        assert_eq!(tap(&mut kbd, CAPS_LOCK), None);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'A'));
        assert_eq!(tap(&mut kbd, KEY_1), Some(b'1'));
        assert_eq!(tap(&mut kbd, KEY_SLASH), Some(b'/'));
        kbd.decode(LEFT_SHIFT);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
        assert_eq!(tap(&mut kbd, KEY_1), Some(b'!'));
        kbd.decode(LEFT_SHIFT | RELEASE);
        assert_eq!(tap(&mut kbd, CAPS_LOCK), None);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
    }

    #[test]
    fn ctrl_letter_gives_its_control_code() {
        let mut kbd = Kbd::new();
        assert_eq!(kbd.decode(CTRL), None);
        assert_eq!(tap(&mut kbd, KEY_D), Some(0x04));
        assert_eq!(tap(&mut kbd, KEY_U), Some(0x15));
        assert_eq!(tap(&mut kbd, KEY_C), Some(0x03));
        assert_eq!(tap(&mut kbd, KEY_1), Some(b'1'), "not a letter");
        kbd.decode(LEFT_SHIFT);
        assert_eq!(tap(&mut kbd, KEY_D), Some(0x04), "Shift does not matter");
        kbd.decode(LEFT_SHIFT | RELEASE);
        assert_eq!(kbd.decode(CTRL | RELEASE), None);
        assert_eq!(tap(&mut kbd, KEY_D), Some(b'd'));
    }

    #[test]
    fn right_ctrl_is_ctrl() {
        let mut kbd = Kbd::new();
        assert_eq!(kbd.decode(E0_ESCAPE), None);
        assert_eq!(kbd.decode(CTRL), None);
        assert_eq!(tap(&mut kbd, KEY_D), Some(0x04));
        kbd.decode(E0_ESCAPE);
        kbd.decode(CTRL | RELEASE);
        assert_eq!(tap(&mut kbd, KEY_D), Some(b'd'));
    }

    #[test]
    fn keypad_enter_is_enter() {
        let mut kbd = Kbd::new();
        assert_eq!(kbd.decode(E0_ESCAPE), None);
        assert_eq!(kbd.decode(ENTER), Some(b'\n'));
        assert_eq!(kbd.decode(E0_ESCAPE), None);
        assert_eq!(kbd.decode(ENTER | RELEASE), None);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
    }

    #[test]
    fn e0_keys_give_nothing_and_do_not_stick() {
        let mut kbd = Kbd::new();
        assert_eq!(kbd.decode(E0_ESCAPE), None);
        assert_eq!(kbd.decode(UP_ARROW), None);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
        assert_eq!(kbd.decode(E0_ESCAPE), None);
        assert_eq!(kbd.decode(UP_ARROW | RELEASE), None);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
    }

    #[test]
    fn e0_shift_codes_are_not_shift() {
        let mut kbd = Kbd::new();
        kbd.decode(E0_ESCAPE);
        kbd.decode(LEFT_SHIFT);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
        kbd.decode(LEFT_SHIFT);
        kbd.decode(E0_ESCAPE);
        kbd.decode(LEFT_SHIFT | RELEASE);
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'A'));
    }

    #[test]
    fn unknown_scan_codes_give_nothing() {
        let mut kbd = Kbd::new();
        for code in [OVERRUN, F1, F12, UNASSIGNED] {
            assert_eq!(tap(&mut kbd, code), None, "scan code {code:#04x}");
        }
        assert_eq!(tap(&mut kbd, KEY_A), Some(b'a'));
    }
}
