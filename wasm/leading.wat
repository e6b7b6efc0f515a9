;; The leading coordinates of a point (src/memory/projection.ts): out[r] = rows[r] . point for
;; r < count, the rows (row-major, `width` float64 each, width even) and the point in this
;; kernel's memory (src/memory/leadingKernel.ts copies them in). Four rows per pass over the
;; point, two float64 lanes at a time: four independent sums, each the sum of its two lanes.
(module
  (import "env" "memory" (memory 1))

  (func (export "leading") (param $rows i32) (param $count i32) (param $width i32) (param $point i32) (param $out i32)
    (local $r i32) (local $k i32) (local $row i32) (local $stride i32) (local $at i32) (local $v v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $stride (i32.shl (local.get $width) (i32.const 3)))
    (block $rowsDone
      (loop $rowGroups
        (br_if $rowsDone (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $count)))
        (local.set $row (i32.add (local.get $rows) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $s0 (v128.const f64x2 0 0))
        (local.set $s1 (v128.const f64x2 0 0))
        (local.set $s2 (v128.const f64x2 0 0))
        (local.set $s3 (v128.const f64x2 0 0))
        (local.set $k (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $k) (local.get $stride)))
            (local.set $v (v128.load (i32.add (local.get $point) (local.get $k))))
            (local.set $at (i32.add (local.get $row) (local.get $k)))
            (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (v128.load (local.get $at)) (local.get $v))))
            (local.set $at (i32.add (local.get $at) (local.get $stride)))
            (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (v128.load (local.get $at)) (local.get $v))))
            (local.set $at (i32.add (local.get $at) (local.get $stride)))
            (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (v128.load (local.get $at)) (local.get $v))))
            (local.set $at (i32.add (local.get $at) (local.get $stride)))
            (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (v128.load (local.get $at)) (local.get $v))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $pairs)))
        (local.set $at (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3))))
        (f64.store offset=0 (local.get $at) (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
        (f64.store offset=8 (local.get $at) (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1))))
        (f64.store offset=16 (local.get $at) (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64x2.extract_lane 1 (local.get $s2))))
        (f64.store offset=24 (local.get $at) (f64.add (f64x2.extract_lane 0 (local.get $s3)) (f64x2.extract_lane 1 (local.get $s3))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rowGroups)))
    ;; The last rows (fewer than four), one at a time.
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $r) (local.get $count)))
        (local.set $row (i32.add (local.get $rows) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $s0 (v128.const f64x2 0 0))
        (local.set $k (i32.const 0))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $k) (local.get $stride)))
            (local.set $s0 (f64x2.add (local.get $s0)
              (f64x2.mul (v128.load (i32.add (local.get $row) (local.get $k))) (v128.load (i32.add (local.get $point) (local.get $k))))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $each)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rest))))
)
