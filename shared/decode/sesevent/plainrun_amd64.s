//go:build !purego

#include "textflag.h"

// func plainRun32(data []byte, i int) int
TEXT ·plainRun32(SB), NOSPLIT, $0-40
	MOVQ data_base+0(FP), SI
	MOVQ data_len+8(FP), DX
	MOVQ i+24(FP), AX
	MOVL $0x22, BX
	MOVQ BX, X1
	VPBROADCASTB X1, Y1 // '"'
	MOVL $0x5c, BX
	MOVQ BX, X2
	VPBROADCASTB X2, Y2 // '\\'
	MOVL $0x1f, BX
	MOVQ BX, X3
	VPBROADCASTB X3, Y3 // the largest control byte

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
