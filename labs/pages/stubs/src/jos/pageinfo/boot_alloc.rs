        // LAB pages/boot_alloc STUB
        let _ = bytes;
        crate::lab_todo!("pages", "boot_alloc")
        // LAB pages/boot_alloc BASE
        // Given until lab pages.
        let refusal = self.refusal(bytes);
        let end = self.next.0.checked_add(bytes).ok_or(refusal)?;
        match VAddr(end).page_up() {
            Some(next) if next <= self.limit => Ok(core::mem::replace(&mut self.next, next)),
            _ => Err(refusal),
        }
        // LAB pages/boot_alloc END
