//go:build !purego

#include "textflag.h"

// 32 copies of each byte plainRun32 compares with.
DATA quotes<>+0(SB)/8, $0x2222222222222222
DATA quotes<>+8(SB)/8, $0x2222222222222222
DATA quotes<>+16(SB)/8, $0x2222222222222222
DATA quotes<>+24(SB)/8, $0x2222222222222222
GLOBL quotes<>(SB), RODATA|NOPTR, $32

DATA backslashes<>+0(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA backslashes<>+8(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA backslashes<>+16(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA backslashes<>+24(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL backslashes<>(SB), RODATA|NOPTR, $32

DATA controls<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA controls<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA controls<>+16(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA controls<>+24(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL controls<>(SB), RODATA|NOPTR, $32


// func plainRun32(data []byte, i int) int
TEXT ·plainRun32(SB), NOSPLIT, $0-40
	MOVQ data_base+0(FP), SI
	MOVQ data_len+8(FP), DX
	MOVQ i+24(FP), AX
	VMOVDQU quotes<>(SB), Y1     // '"'
	VMOVDQU backslashes<>(SB), Y2 // '\\'
	VMOVDQU controls<>(SB), Y3    // the largest control byte

loop:
	LEAQ 32(AX), CX
	CMPQ CX, DX
	JHI  done                // fewer than 32 bytes left
	VMOVDQU (SI)(AX*1), Y0
	VPCMPEQB Y0, Y1, Y4      // == '"'
	VPCMPEQB Y0, Y2, Y5      // == '\\'
	VPOR     Y4, Y5, Y4
	VPMINUB  Y0, Y3, Y5      // min(c, 0x1f) == c: c < 0x20
	VPCMPEQB Y0, Y5, Y5
	VPOR     Y4, Y5, Y4
	VPOR     Y4, Y0, Y4      // c >= 0x80 has its top bit set already
	VPMOVMSKB Y4, BX
	TESTL    BX, BX
	JNZ      found
	MOVQ     CX, AX
	JMP      loop

found:
	BSFL BX, BX
	ADDQ BX, AX

done:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET
