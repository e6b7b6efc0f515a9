;; Exact integer dot product of a query's 16-bit codes with one record's 8-bit sketch, for the
;; l2 lower bound of src/memory/inputSketches.ts (which holds the rest of the formula).
;;
;; Memory (imported, one per bank of records, shared: growing a memory that is not shared
;; detaches its buffer and made V8 run a full garbage collection at every grow; byte offsets
;; are parameters; at most 1 GiB, as src/memory/inputSketches.ts sizes a bank):
;;   q  the query's codes, i16 in [0, 32767], 16 * blocks of them (zero padding)
;;   r  the record's codes, u8, 16 * blocks of them (zero padding)
;; Returns sum_k q[k] * r[k] exactly (an integer below 2^53 for any n that fits in memory).
(module
  (import "env" "memory" (memory 1 16384 shared))

  (func (export "dot") (param $q i32) (param $r i32) (param $blocks i32) (result f64)
    (local $end i32) (local $stop i32) (local $line i32) (local $touched i32) (local $bytes v128) (local $acc v128) (local $total v128)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $blocks) (i32.const 4))))
    ;; Touch each 64-byte line of the record first: the records are read in random order, mostly
    ;; from RAM, and issuing every miss at once was measured ~15% faster than the loop alone.
    (local.set $line (local.get $r))
    (loop $touch
      (local.set $touched (i32.or (local.get $touched) (i32.load8_u (local.get $line))))
      (local.set $line (i32.add (local.get $line) (i32.const 64)))
      (br_if $touch (i32.lt_u (local.get $line) (local.get $end))))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        ;; Each i32 lane gains at most 4 * 32767 * 255 (< 2^25) per block of 16 codes, so 32
        ;; blocks stay below 2^30; then the lanes are widened into the i64 total.
        (local.set $stop
          (select
            (local.get $end)
            (i32.add (local.get $r) (i32.const 512))
            (i32.le_u (i32.sub (local.get $end) (local.get $r)) (i32.const 512))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (loop $inner
          (local.set $bytes (v128.load (local.get $r)))
          (local.set $acc
            (i32x4.add
              (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $bytes)) (v128.load (local.get $q)))))
          (local.set $acc
            (i32x4.add
              (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $bytes)) (v128.load offset=16 (local.get $q)))))
          (local.set $r (i32.add (local.get $r) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $inner (i32.lt_u (local.get $r) (local.get $stop))))
        (local.set $total (i64x2.add (local.get $total) (i64x2.extend_low_i32x4_u (local.get $acc))))
        (local.set $total (i64x2.add (local.get $total) (i64x2.extend_high_i32x4_u (local.get $acc))))
        (br $outer)))
    ;; $touched is at most 255, so its contribution is 0; it only keeps the touching loads alive.
    (f64.add
      (f64.convert_i64_s
        (i64.add (i64x2.extract_lane 0 (local.get $total)) (i64x2.extract_lane 1 (local.get $total))))
      (f64.convert_i32_u (i32.shr_u (local.get $touched) (i32.const 8))))))
