        // LAB kalloc/scan STUB
        crate::lab_todo!("kalloc", "scan")
        // LAB kalloc/scan END

        // LAB kalloc/scan STUB
        let _ = (va, self.junk);
        crate::lab_todo!("kalloc", "scan")
        // LAB kalloc/scan END

        // LAB kalloc/scan STUB
        let _ = (start, end);
        crate::lab_todo!("kalloc", "scan")
        // LAB kalloc/scan END
