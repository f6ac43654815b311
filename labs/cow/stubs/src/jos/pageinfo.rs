        // LAB cow/counts STUB
        let _ = pa;
        crate::lab_todo!("cow", "counts")
        // LAB cow/counts BASE
        // Given until lab cow.
        let cell = self.cell(pa)?;
        let mut seen = cell.load(Ordering::Relaxed);
        loop {
            let lower = seen.checked_sub(1).ok_or(PageError::CountZero { pa })?;
            match cell.compare_exchange(seen, lower, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(lower == 0),
                Err(now) => seen = now,
            }
        }
        // LAB cow/counts END

        // LAB cow/counts STUB
        let _ = pa;
        crate::lab_todo!("cow", "counts")
        // LAB cow/counts BASE
        // Given until lab cow.
        let last = self.infos.decref(pa)?;
        if last {
            // SAFETY: the caller's promise, for the last mapping.
            unsafe { self.page_free(pa)? };
        }
        Ok(last)
        // LAB cow/counts END
