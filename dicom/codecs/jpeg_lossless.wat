;; The hot loop of the built-in JPEG lossless decoder (jpeg_lossless.ts): a line of samples of one component,
;; each predicted as T.81 Table H.1 says (selection value 1 - the sample to the left - on every first line),
;; each difference read with one lookup of the 12-bit table whose entries hold a whole difference. Whatever is
;; not that - an entry that is not whole, a 0xFF byte that is not FF00 stuffing, the end of the data - hands
;; back to TypeScript, which reads that difference and calls again.
;;
;; Memory: the reader's state at 0 (pos, buf, bits, left, x as i32), then what the caller placed: the
;; entropy-coded data, the lookup table (4096 i32) and the output plane (u16).
(module
  (memory (export "memory") 1)

  ;; The prediction of T.81 Table H.1 from the samples to the left (ra), above (rb) and above left (rc), as
  ;; libjpeg computes it (integers, arithmetic shifts).
  (func $predict (param $p i32) (param $ra i32) (param $rb i32) (param $rc i32) (result i32)
    (block $p7 (block $p6 (block $p5 (block $p4 (block $p3 (block $p2
      (br_table $p2 $p2 $p2 $p3 $p4 $p5 $p6 $p7 (local.get $p)))
      (return (local.get $rb)))
      (return (local.get $rc)))
      (return (i32.sub (i32.add (local.get $ra) (local.get $rb)) (local.get $rc))))
      (return (i32.add (local.get $ra) (i32.shr_s (i32.sub (local.get $rb) (local.get $rc)) (i32.const 1)))))
      (return (i32.add (local.get $rb) (i32.shr_s (i32.sub (local.get $ra) (local.get $rc)) (i32.const 1)))))
    (i32.shr_s (i32.add (local.get $ra) (local.get $rb)) (i32.const 1)))

  ;; Samples x .. count - 1 of a line into out (u16 at out + 2x), from the state at 0: the first from `left`
  ;; (the state's), the others by `predictor` (1: the sample to the left; 2-7 read the line above, at up).
  ;; Returns 0 when the line is done, 1 when the next difference needs the TypeScript reader (the state is
  ;; that before it).
  (func (export "line")
    (param $data i32) (param $end i32) (param $lookup i32) (param $out i32) (param $count i32) (param $mask i32)
    (param $predictor i32) (param $up i32)
    (result i32)
    (local $pos i32) (local $buf i32) (local $bits i32) (local $left i32) (local $x i32)
    (local $b i32) (local $e i32) (local $status i32) (local $base i32)
    (local.set $pos (i32.load (i32.const 0)))
    (local.set $buf (i32.load (i32.const 4)))
    (local.set $bits (i32.load (i32.const 8)))
    (local.set $left (i32.load (i32.const 12)))
    (local.set $x (i32.load (i32.const 16)))
    (local.set $status
      (block $exit (result i32)
        (loop $sample
          (if (i32.ge_u (local.get $x) (local.get $count)) (then (br $exit (i32.const 0))))
          ;; top the buffer up past 24 bits with data bytes (FF00 is a stuffed 0xFF)
          (block $full
            (loop $fill
              (br_if $full (i32.gt_s (local.get $bits) (i32.const 24)))
              (if (i32.ge_u (local.get $pos) (local.get $end)) (then (br $exit (i32.const 1))))
              (local.set $b (i32.load8_u (i32.add (local.get $data) (local.get $pos))))
              (if (i32.eq (local.get $b) (i32.const 0xff))
                (then
                  (if (i32.ge_u (i32.add (local.get $pos) (i32.const 1)) (local.get $end)) (then (br $exit (i32.const 1))))
                  (if (i32.ne (i32.load8_u (i32.add (i32.add (local.get $data) (local.get $pos)) (i32.const 1)))
                      (i32.const 0)) (then (br $exit (i32.const 1))))
                  (local.set $pos (i32.add (local.get $pos) (i32.const 2))))
                (else (local.set $pos (i32.add (local.get $pos) (i32.const 1)))))
              (local.set $buf (i32.or (i32.shl (local.get $buf) (i32.const 8)) (local.get $b)))
              (local.set $bits (i32.add (local.get $bits) (i32.const 8)))
              (br $fill)))
          (local.set $e
            (i32.load
              (i32.add (local.get $lookup)
                (i32.shl
                  (i32.and (i32.shr_u (local.get $buf) (i32.sub (local.get $bits) (i32.const 12))) (i32.const 4095))
                  (i32.const 2)))))
          ;; FULL = 1 << 30: the entry holds the whole difference
          (if (i32.eqz (i32.and (local.get $e) (i32.const 0x40000000))) (then (br $exit (i32.const 1))))
          (local.set $bits (i32.sub (local.get $bits) (i32.and (i32.shr_u (local.get $e) (i32.const 17)) (i32.const 31))))
          (local.set $base
            (if (result i32) (i32.or (i32.eqz (local.get $x)) (i32.eq (local.get $predictor) (i32.const 1)))
              (then (local.get $left))
              (else
                (call $predict (local.get $predictor) (local.get $left)
                  (i32.load16_u (i32.add (local.get $up) (i32.shl (local.get $x) (i32.const 1))))
                  (i32.load16_u (i32.add (local.get $up) (i32.shl (i32.sub (local.get $x) (i32.const 1)) (i32.const 1))))))))
          (local.set $left
            (i32.and
              (i32.add (local.get $base) (i32.sub (i32.and (local.get $e) (i32.const 0x1ffff)) (i32.const 32768)))
              (local.get $mask)))
          (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $x) (i32.const 1))) (local.get $left))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $sample))
        (i32.const 0)))
    (i32.store (i32.const 0) (local.get $pos))
    (i32.store (i32.const 4) (local.get $buf))
    (i32.store (i32.const 8) (local.get $bits))
    (i32.store (i32.const 12) (local.get $left))
    (i32.store (i32.const 16) (local.get $x))
    (local.get $status))
)
