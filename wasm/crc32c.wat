;; CRC-32C (Castagnoli), slicing by 8, over bytes in this kernel's own memory (see
;; src/memory/crc32c.ts, which writes the eight 256-entry tables at offset 0, table t at
;; t * 1024 bytes, and copies the bytes to checksum after them). The state is the inverted CRC,
;; as in the JS loop; the caller inverts before and after. No bounds checks per load (the
;; memory's size is fixed), which is what makes this faster than the same loop in JS.
(module
  (import "env" "memory" (memory 1))

  (func (export "update") (param $crc i32) (param $at i32) (param $n i32) (result i32)
    (local $end i32) (local $lo i32) (local $hi i32)
    (local.set $end (i32.add (local.get $at) (i32.and (local.get $n) (i32.const -8))))
    (block $words
      (loop $step
        (br_if $words (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $lo (i32.xor (i32.load (local.get $at)) (local.get $crc)))
        (local.set $hi (i32.load offset=4 (local.get $at)))
        (local.set $crc
          (i32.xor
            (i32.xor
              (i32.xor
                (i32.load offset=7168 (i32.shl (i32.and (local.get $lo) (i32.const 255)) (i32.const 2)))
                (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $lo) (i32.const 8)) (i32.const 255)) (i32.const 2))))
              (i32.xor
                (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $lo) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $lo) (i32.const 24)) (i32.const 2)))))
            (i32.xor
              (i32.xor
                (i32.load offset=3072 (i32.shl (i32.and (local.get $hi) (i32.const 255)) (i32.const 2)))
                (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $hi) (i32.const 8)) (i32.const 255)) (i32.const 2))))
              (i32.xor
                (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $hi) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                (i32.load (i32.shl (i32.shr_u (local.get $hi) (i32.const 24)) (i32.const 2)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $step)))
    ;; The last 0-7 bytes, one at a time (table 0).
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $n) (i32.const 7))))
    (block $bytes
      (loop $byte
        (br_if $bytes (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $crc
          (i32.xor
            (i32.load (i32.shl (i32.and (i32.xor (local.get $crc) (i32.load8_u (local.get $at))) (i32.const 255)) (i32.const 2)))
            (i32.shr_u (local.get $crc) (i32.const 8))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $byte)))
    (local.get $crc))
)
