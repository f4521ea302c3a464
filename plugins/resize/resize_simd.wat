;; WebAssembly SIMD kernels of the CPU resize (plugins/resize/cpu_simd.ts drives them).
;;
;; Source of truth for plugins/resize/resize_simd.wasm.ts: `deno task build:wasm` assembles this file with
;; wabt and writes the bytes there; tests/resize_test.ts checks the two agree.
;;
;; Everything is float32, row-major, and addressed in BYTES inside the module's own memory (the caller copies
;; planes in and out). Two primitives do all the work:
;;
;; - `vpass`: the "vertical" separable pass. Output row y is a weighted sum of `count[y]` consecutive input
;;   rows from `start[y]`; every output column is independent, so it runs 4 (SIMD) or 16 (4 registers)
;;   columns at a time with the taps in the inner loop and the sums kept in registers.
;; - `transpose`: a full matrix transpose in 4x4 blocks (4 loads, 8 shuffles, 4 stores).
;;
;; The width ("horizontal") pass is a vertical pass over the transposed image. `hpass` does it strip by strip
;; (16 input rows at a time, as the caller asks), so the transposed strip and its result stay in the L1 cache:
;;   strip [h, cols] --transpose--> [cols, h] --vpass16--> [outCols, h] --transpose--> [h, outCols]
;; where `vpass16` is `vpass` for rows of exactly 16 floats (one row = 4 registers; no column loop). Measured
;; on 512x512 -> 224x224: whole-plane transposes are 4x slower than strips (a 2 KiB stride thrashes the
;; cache), strips of 32 rows no longer fit L1, and with the generic `vpass` on its strips the width pass takes
;; 20 % longer.
;;
;; Stored words instead of floats (the fused CPU chain's lookup table over the stored values, see
;; plugins/resize/cpu_simd.ts): `hpassLookup` is `hpass` whose strips are looked up straight into their
;; transposed form (`lookupT` instead of the first `transpose`), and `lookup16` / `lookup8` make plain rows
;; (for a height-only resize). Table indices are computed 8 words at a time in SIMD; each entry is copied as a
;; 32-bit integer, so the floats are the table's bits exactly.
;;
;; Filter tables (per output index): `start` and `count` are i32 arrays, `weights` an f32 array with `stride`
;; entries per output index (the layout of `axisTable` in cpu.ts). Taps are summed in order k = 0, 1, ...,
;; each multiply and add rounded to float32 (the JS passes round once per multiply-add; the results differ by
;; an ulp or so).
(module
  (memory (export "memory") 1)

  ;; Copies `n` floats from `src` (stepping `srcStep` bytes) to `dst` (stepping `dstStep` bytes): the scalar
  ;; edges of `transpose`.
  (func $strided (param $src i32) (param $srcStep i32) (param $dst i32) (param $dstStep i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $src (i32.add (local.get $src) (local.get $srcStep)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dstStep)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; transpose: dst[c][r] = src[r][c], src [rows, cols] -> dst [cols, rows].
  (func $transpose (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $srcRow i32) (local $dstRow i32)   ;; row sizes in bytes: cols * 4, rows * 4
    (local $rows4 i32) (local $cols4 i32)     ;; rows and cols rounded down to a multiple of 4
    (local $r i32) (local $c i32)
    (local $s i32) (local $d i32)             ;; current 4x4 block: top-left in src, top-left in dst
    (local $a v128) (local $b v128) (local $e v128) (local $f v128)
    (local $ab0 v128) (local $ab1 v128) (local $ef0 v128) (local $ef1 v128)
    (local.set $srcRow (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstRow (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    ;; 4x4 blocks over rows [0, rows4) x cols [0, cols4).
    (block $rowsDone
      (loop $rowBlock
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows4)))
        (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srcRow))))
        (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $colsDone
          (loop $colBlock
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $cols4)))
            ;; rows a, b, e, f of the block (4 floats each)
            (local.set $a (v128.load (local.get $s)))
            (local.set $b (v128.load (i32.add (local.get $s) (local.get $srcRow))))
            (local.set $e (v128.load (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 1)))))
            (local.set $f (v128.load (i32.add (local.get $s) (i32.mul (local.get $srcRow) (i32.const 3)))))
            ;; interleave pairs: ab0 = a0 b0 a1 b1, ab1 = a2 b2 a3 b3 (same for e, f)
            (local.set $ab0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $ab1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $ef0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $e) (local.get $f)))
            (local.set $ef1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $e) (local.get $f)))
            ;; columns: a0 b0 e0 f0 = low halves of ab0 and ef0, a1 b1 e1 f1 = high halves, and so on
            (v128.store (local.get $d)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab0) (local.get $ef0)))
            (v128.store (i32.add (local.get $d) (local.get $dstRow))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab0) (local.get $ef0)))
            (v128.store (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab1) (local.get $ef1)))
            (v128.store (i32.add (local.get $d) (i32.mul (local.get $dstRow) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab1) (local.get $ef1)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 2))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $colBlock)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rowBlock)))
    ;; Edge columns [cols4, cols), all rows: src column c -> dst row c.
    (local.set $c (local.get $cols4))
    (block $edgeColsDone
      (loop $edgeCol
        (br_if $edgeColsDone (i32.ge_u (local.get $c) (local.get $cols)))
        (call $strided
          (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))) (local.get $srcRow)
          (i32.add (local.get $dst) (i32.mul (local.get $c) (local.get $dstRow))) (i32.const 4)
          (local.get $rows))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $edgeCol)))
    ;; Edge rows [rows4, rows), columns [0, cols4): src row r -> dst column r.
    (local.set $r (local.get $rows4))
    (block $edgeRowsDone
      (loop $edgeRow
        (br_if $edgeRowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (call $strided
          (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srcRow))) (i32.const 4)
          (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))) (local.get $dstRow)
          (local.get $cols4))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $edgeRow))))

  ;; One output row of `vpass` (n >= 1 taps): dst[x] = sum_k w[k] * src[k * rowBytes + x] for every column x,
  ;; 16 columns at a time (4 accumulators), then 4 at a time, then one at a time.
  (func $row (param $src i32) (param $dst i32) (param $w i32) (param $n i32) (param $rowBytes i32)
    (local $x i32)                            ;; byte offset of the current columns in the row
    (local $p i32)                            ;; address of the current tap's input
    (local $q i32) (local $wEnd i32)          ;; address of the current weight, end of the weights
    (local $wk v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $ws f32) (local $as f32)
    (local.set $wEnd (i32.add (local.get $w) (i32.shl (local.get $n) (i32.const 2))))
    ;; 16 columns (64 bytes) at a time.
    (block $wideDone
      (loop $wide
        (br_if $wideDone (i32.gt_u (i32.add (local.get $x) (i32.const 64)) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $src) (local.get $x)))
        (local.set $wk (v128.load32_splat (local.get $w)))
        (local.set $a0 (f32x4.mul (v128.load offset=0 (local.get $p)) (local.get $wk)))
        (local.set $a1 (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $wk)))
        (local.set $a2 (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $wk)))
        (local.set $a3 (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $wk)))
        (local.set $q (i32.add (local.get $w) (i32.const 4)))
        (block $tapsDone
          (loop $tap
            (br_if $tapsDone (i32.ge_u (local.get $q) (local.get $wEnd)))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $wk (v128.load32_splat (local.get $q)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $p)) (local.get $wk))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $wk))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $wk))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $wk))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tap)))
        (local.set $p (i32.add (local.get $dst) (local.get $x)))
        (v128.store offset=0 (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $a1))
        (v128.store offset=32 (local.get $p) (local.get $a2))
        (v128.store offset=48 (local.get $p) (local.get $a3))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (br $wide)))
    ;; 4 columns (16 bytes) at a time.
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.gt_u (i32.add (local.get $x) (i32.const 16)) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $src) (local.get $x)))
        (local.set $a0 (f32x4.mul (v128.load (local.get $p)) (v128.load32_splat (local.get $w))))
        (local.set $q (i32.add (local.get $w) (i32.const 4)))
        (block $tapsDone
          (loop $tap
            (br_if $tapsDone (i32.ge_u (local.get $q) (local.get $wEnd)))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $a0
              (f32x4.add (local.get $a0) (f32x4.mul (v128.load (local.get $p)) (v128.load32_splat (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tap)))
        (v128.store (i32.add (local.get $dst) (local.get $x)) (local.get $a0))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $vec)))
    ;; The last cols % 4 columns, one at a time.
    (block $scalarDone
      (loop $scalar
        (br_if $scalarDone (i32.ge_u (local.get $x) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $src) (local.get $x)))
        (local.set $as (f32.mul (f32.load (local.get $p)) (f32.load (local.get $w))))
        (local.set $q (i32.add (local.get $w) (i32.const 4)))
        (block $tapsDone
          (loop $tap
            (br_if $tapsDone (i32.ge_u (local.get $q) (local.get $wEnd)))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $as (f32.add (local.get $as) (f32.mul (f32.load (local.get $p)) (f32.load (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tap)))
        (f32.store (i32.add (local.get $dst) (local.get $x)) (local.get $as))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $scalar))))

  ;; vpass: src [*, cols] -> dst [outRows, cols], dst[y][x] = sum_{k < count[y]} weights[y * stride + k] *
  ;; src[start[y] + k][x]. A row with no taps is zero.
  (func $vpass (export "vpass")
    (param $src i32) (param $dst i32) (param $cols i32) (param $outRows i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32)
    (local $y i32) (local $rowBytes i32) (local $n i32) (local $d i32) (local $x i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $outRow
        (br_if $done (i32.ge_u (local.get $y) (local.get $outRows)))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $y) (local.get $rowBytes))))
        (if (i32.gt_s (local.get $n) (i32.const 0))
          (then
            (call $row
              ;; first input row: src + start[y] * rowBytes
              (i32.add (local.get $src)
                (i32.mul (i32.load (i32.add (local.get $start) (i32.shl (local.get $y) (i32.const 2))))
                  (local.get $rowBytes)))
              (local.get $d)
              ;; first weight: weights + y * stride * 4
              (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $y) (local.get $stride)) (i32.const 2)))
              (local.get $n)
              (local.get $rowBytes)))
          (else
            ;; no taps: zeros
            (local.set $x (i32.const 0))
            (block $zeroDone
              (loop $zero
                (br_if $zeroDone (i32.ge_u (local.get $x) (local.get $rowBytes)))
                (f32.store (i32.add (local.get $d) (local.get $x)) (f32.const 0))
                (local.set $x (i32.add (local.get $x) (i32.const 4)))
                (br $zero)))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $outRow))))

  ;; vpass16: `vpass` for rows of exactly 16 floats (the transposed strips of `hpass`): no column loop, the
  ;; 16 sums of an output row in 4 registers. Sums start from zero (like the JS width pass), so a row with no
  ;; taps is zero.
  (func $vpass16
    (param $src i32) (param $dst i32) (param $outRows i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32)
    (local $y i32) (local $p i32) (local $q i32) (local $wEnd i32) (local $wRow i32)
    (local $wk v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $outRow
        (br_if $done (i32.ge_u (local.get $y) (local.get $outRows)))
        ;; p = first input row (64 bytes a row), q = first weight, wEnd = q + count * 4
        (local.set $p (i32.add (local.get $src)
          (i32.shl (i32.load (i32.add (local.get $start) (i32.shl (local.get $y) (i32.const 2)))) (i32.const 6))))
        (local.set $q (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $y) (local.get $stride)) (i32.const 2))))
        (local.set $wEnd (i32.add (local.get $q)
          (i32.shl (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2)))) (i32.const 2))))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (block $tapsDone
          (loop $tap
            (br_if $tapsDone (i32.ge_u (local.get $q) (local.get $wEnd)))
            (local.set $wk (v128.load32_splat (local.get $q)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $p)) (local.get $wk))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $wk))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $wk))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $wk))))
            (local.set $p (i32.add (local.get $p) (i32.const 64)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tap)))
        (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $y) (i32.const 6))))
        (v128.store offset=0 (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $a1))
        (v128.store offset=32 (local.get $p) (local.get $a2))
        (v128.store offset=48 (local.get $p) (local.get $a3))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $outRow))))

  ;; hpass: the width pass, src [rows, cols] -> dst [rows, outCols], dst[r][x] = sum_k weights[x * stride + k]
  ;; * src[r][start[x] + k]. Works on strips of `strip` input rows through `scratch`, which must hold
  ;; (cols + outCols) * strip floats: the transposed strip [cols, h], then its resized form [outCols, h].
  (func (export "hpass")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $outCols i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32)
    (param $scratch i32) (param $strip i32)
    (call $hstrips (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols) (local.get $outCols)
      (local.get $start) (local.get $count) (local.get $weights) (local.get $stride)
      (local.get $scratch) (local.get $strip)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; hpassLookup: `hpass` of the rows that `lookup16` (width 2) or `lookup8` (width 1) would make of the words
  ;; at `src` ([rows, cols] words): each strip's words are looked up straight into the transposed strip, so
  ;; the rows themselves are never written (same floats, same sums as the lookup then `hpass`).
  (func (export "hpassLookup")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $outCols i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32)
    (param $scratch i32) (param $strip i32)
    (param $table i32) (param $shift i32) (param $mask i32) (param $offset i32) (param $width i32)
    (call $hstrips (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols) (local.get $outCols)
      (local.get $start) (local.get $count) (local.get $weights) (local.get $stride)
      (local.get $scratch) (local.get $strip)
      (local.get $table) (local.get $shift) (local.get $mask) (local.get $offset) (local.get $width)))

  ;; The strips of `hpass` (`width` 0: src holds floats) and `hpassLookup` (`width` 1 or 2: src holds words).
  (func $hstrips
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $outCols i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32)
    (param $scratch i32) (param $strip i32)
    (param $table i32) (param $shift i32) (param $mask i32) (param $offset i32) (param $width i32)
    (local $r i32) (local $h i32) (local $resized i32)
    (local.set $resized
      (i32.add (local.get $scratch) (i32.shl (i32.mul (local.get $cols) (local.get $strip)) (i32.const 2))))
    (block $done
      (loop $nextStrip
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        ;; h = min(strip, rows - r)
        (local.set $h (i32.sub (local.get $rows) (local.get $r)))
        (if (i32.gt_u (local.get $h) (local.get $strip)) (then (local.set $h (local.get $strip))))
        (if (i32.eqz (local.get $width))
          (then (call $transpose
            (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2)))
            (local.get $scratch) (local.get $h) (local.get $cols)))
          (else (call $lookupT
            (i32.add (local.get $src) (i32.mul (i32.mul (local.get $r) (local.get $cols)) (local.get $width)))
            (local.get $scratch) (local.get $h) (local.get $cols)
            (local.get $table) (local.get $shift) (local.get $mask) (local.get $offset) (local.get $width))))
        (if (i32.eq (local.get $h) (i32.const 16))
          (then (call $vpass16 (local.get $scratch) (local.get $resized) (local.get $outCols)
            (local.get $start) (local.get $count) (local.get $weights) (local.get $stride)))
          (else (call $vpass (local.get $scratch) (local.get $resized) (local.get $h) (local.get $outCols)
            (local.get $start) (local.get $count) (local.get $weights) (local.get $stride))))
        (call $transpose (local.get $resized)
          (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $r) (local.get $outCols)) (i32.const 2)))
          (local.get $outCols) (local.get $h))
        (local.set $r (i32.add (local.get $r) (local.get $strip)))
        (br $nextStrip))))

  ;; lookupT: the lookup of `h` rows of `cols` words at `src` (see $lookup), transposed: dst [cols, h],
  ;; dst[c][r] = table[index(word[r][c])]. Indices 8 words at a time as in $lookup; each entry copied as i32.
  (func $lookupT (param $src i32) (param $dst i32) (param $h i32) (param $cols i32)
    (param $table i32) (param $shift i32) (param $mask i32) (param $offset i32) (param $width i32)
    (local $r i32) (local $p i32) (local $end i32) (local $d i32) (local $step i32)
    (local $w v128) (local $m v128) (local $o v128) (local $t v128) (local $a v128)
    (local.set $m (i16x8.splat (local.get $mask)))
    (local.set $o (i16x8.splat (local.get $offset)))
    (local.set $t (i32x4.splat (local.get $table)))
    (local.set $step (i32.shl (local.get $h) (i32.const 2)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $h)))
        ;; p: this row's words; d: dst column 0 of row r; end: end of the 8-word blocks
        (local.set $p (i32.add (local.get $src) (i32.mul (i32.mul (local.get $r) (local.get $cols)) (local.get $width))))
        (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $end (i32.add (local.get $p)
          (i32.mul (i32.and (local.get $cols) (i32.const -8)) (local.get $width))))
        (block $blocksDone
          (loop $block
            (br_if $blocksDone (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $w
              (if (result v128) (i32.eq (local.get $width) (i32.const 2))
                (then (v128.load (local.get $p)))
                (else (v128.load8x8_u (local.get $p)))))
            (local.set $w (v128.xor (v128.and (i16x8.shr_u (local.get $w) (local.get $shift)) (local.get $m))
              (local.get $o)))
            (local.set $a (i32x4.add (local.get $t) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $w)) (i32.const 2))))
            (local.set $d (call $put (local.get $d) (local.get $step) (local.get $a)))
            (local.set $a (i32x4.add (local.get $t) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $w)) (i32.const 2))))
            (local.set $d (call $put (local.get $d) (local.get $step) (local.get $a)))
            (local.set $p (i32.add (local.get $p) (i32.shl (local.get $width) (i32.const 3))))
            (br $block)))
        ;; the last cols % 8 words of the row
        (local.set $end (i32.add (local.get $end) (i32.mul (i32.and (local.get $cols) (i32.const 7)) (local.get $width))))
        (block $wordsDone
          (loop $word
            (br_if $wordsDone (i32.ge_u (local.get $p) (local.get $end)))
            (i32.store (local.get $d) (i32.load (call $entry (local.get $p) (local.get $table)
              (local.get $shift) (local.get $mask) (local.get $offset) (local.get $width))))
            (local.set $p (i32.add (local.get $p) (local.get $width)))
            (local.set $d (i32.add (local.get $d) (local.get $step)))
            (br $word)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; Copies the 4 entries at the addresses of `a` to d, d + step, d + 2 step, d + 3 step; returns d + 4 step.
  (func $put (param $d i32) (param $step i32) (param $a v128) (result i32)
    (i32.store (local.get $d) (i32.load (i32x4.extract_lane 0 (local.get $a))))
    (local.set $d (i32.add (local.get $d) (local.get $step)))
    (i32.store (local.get $d) (i32.load (i32x4.extract_lane 1 (local.get $a))))
    (local.set $d (i32.add (local.get $d) (local.get $step)))
    (i32.store (local.get $d) (i32.load (i32x4.extract_lane 2 (local.get $a))))
    (local.set $d (i32.add (local.get $d) (local.get $step)))
    (i32.store (local.get $d) (i32.load (i32x4.extract_lane 3 (local.get $a))))
    (i32.add (local.get $d) (local.get $step)))

  ;; The address of the table entry of the word at `p` (`width` bytes, little endian).
  (func $entry (param $p i32) (param $table i32) (param $shift i32) (param $mask i32) (param $offset i32)
    (param $width i32) (result i32)
    (i32.add (local.get $table) (i32.shl
      (i32.xor
        (i32.and
          (i32.shr_u
            (if (result i32) (i32.eq (local.get $width) (i32.const 2))
              (then (i32.load16_u (local.get $p)))
              (else (i32.load8_u (local.get $p))))
            (local.get $shift))
          (local.get $mask))
        (local.get $offset))
      (i32.const 2))))

  ;; The lookup of `lookup16` / `lookup8`: dst[i] = table[((word[i] >> shift) & mask) ^ offset] for i < n,
  ;; words of `width` bytes (2 or 1, little endian) from `src`, entries copied as i32 (bit-exact floats).
  ;; Indices: 8 words at a time (shift, mask, xor in i16x8, widened to byte addresses in i32x4), then the
  ;; last n % 8 words one at a time.
  (func $lookup (param $src i32) (param $dst i32) (param $n i32) (param $table i32)
    (param $shift i32) (param $mask i32) (param $offset i32) (param $width i32)
    (local $end i32) (local $w v128) (local $m v128) (local $o v128) (local $t v128) (local $a v128)
    (local.set $m (i16x8.splat (local.get $mask)))
    (local.set $o (i16x8.splat (local.get $offset)))
    (local.set $t (i32x4.splat (local.get $table)))
    ;; end of the 8-word blocks, in bytes of src
    (local.set $end (i32.add (local.get $src)
      (i32.mul (i32.and (local.get $n) (i32.const -8)) (local.get $width))))
    (block $blocksDone
      (loop $block
        (br_if $blocksDone (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $w
          (if (result v128) (i32.eq (local.get $width) (i32.const 2))
            (then (v128.load (local.get $src)))
            (else (v128.load8x8_u (local.get $src)))))
        ;; table indices, u16 lanes
        (local.set $w (v128.xor (v128.and (i16x8.shr_u (local.get $w) (local.get $shift)) (local.get $m))
          (local.get $o)))
        ;; entries' addresses: table + index * 4, four lanes at a time
        (local.set $a (i32x4.add (local.get $t) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $w)) (i32.const 2))))
        (i32.store offset=0 (local.get $dst) (i32.load (i32x4.extract_lane 0 (local.get $a))))
        (i32.store offset=4 (local.get $dst) (i32.load (i32x4.extract_lane 1 (local.get $a))))
        (i32.store offset=8 (local.get $dst) (i32.load (i32x4.extract_lane 2 (local.get $a))))
        (i32.store offset=12 (local.get $dst) (i32.load (i32x4.extract_lane 3 (local.get $a))))
        (local.set $a (i32x4.add (local.get $t) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $w)) (i32.const 2))))
        (i32.store offset=16 (local.get $dst) (i32.load (i32x4.extract_lane 0 (local.get $a))))
        (i32.store offset=20 (local.get $dst) (i32.load (i32x4.extract_lane 1 (local.get $a))))
        (i32.store offset=24 (local.get $dst) (i32.load (i32x4.extract_lane 2 (local.get $a))))
        (i32.store offset=28 (local.get $dst) (i32.load (i32x4.extract_lane 3 (local.get $a))))
        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $width) (i32.const 3))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $block)))
    ;; the last n % 8 words
    (local.set $end (i32.add (local.get $end) (i32.mul (i32.and (local.get $n) (i32.const 7)) (local.get $width))))
    (block $wordsDone
      (loop $word
        (br_if $wordsDone (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store (local.get $dst) (i32.load (call $entry (local.get $src) (local.get $table)
          (local.get $shift) (local.get $mask) (local.get $offset) (local.get $width))))
        (local.set $src (i32.add (local.get $src) (local.get $width)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $word))))

  ;; lookup16: n 16-bit little-endian words at `src` -> n floats at `dst` through `table` (see $lookup).
  (func (export "lookup16") (param $src i32) (param $dst i32) (param $n i32) (param $table i32)
    (param $shift i32) (param $mask i32) (param $offset i32)
    (call $lookup (local.get $src) (local.get $dst) (local.get $n) (local.get $table)
      (local.get $shift) (local.get $mask) (local.get $offset) (i32.const 2)))

  ;; lookup8: n 8-bit words at `src` -> n floats at `dst` through `table` (see $lookup).
  (func (export "lookup8") (param $src i32) (param $dst i32) (param $n i32) (param $table i32)
    (param $shift i32) (param $mask i32) (param $offset i32)
    (call $lookup (local.get $src) (local.get $dst) (local.get $n) (local.get $table)
      (local.get $shift) (local.get $mask) (local.get $offset) (i32.const 1)))
)
