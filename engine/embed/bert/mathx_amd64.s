//go:build amd64 && !purego

#include "textflag.h"

// Vectorised element-wise math for the encoder (AVX2+FMA). Each function
// handles the first len/8*8 elements; the Go wrappers do the tail with the
// same formulas in scalar code. Constants are stored as 8-float vectors.
// See mathx.go for the formulas.

DATA mconst<>+0(SB)/4, $0x3f3504f3 // invsqrt2 = 0.7071067811865476
DATA mconst<>+4(SB)/4, $0x3f3504f3
DATA mconst<>+8(SB)/4, $0x3f3504f3
DATA mconst<>+12(SB)/4, $0x3f3504f3
DATA mconst<>+16(SB)/4, $0x3f3504f3
DATA mconst<>+20(SB)/4, $0x3f3504f3
DATA mconst<>+24(SB)/4, $0x3f3504f3
DATA mconst<>+28(SB)/4, $0x3f3504f3
DATA mconst<>+32(SB)/4, $0x40800000 // four = 4.0
DATA mconst<>+36(SB)/4, $0x40800000
DATA mconst<>+40(SB)/4, $0x40800000
DATA mconst<>+44(SB)/4, $0x40800000
DATA mconst<>+48(SB)/4, $0x40800000
DATA mconst<>+52(SB)/4, $0x40800000
DATA mconst<>+56(SB)/4, $0x40800000
DATA mconst<>+60(SB)/4, $0x40800000
DATA mconst<>+64(SB)/4, $0xc0800000 // mfour = -4.0
DATA mconst<>+68(SB)/4, $0xc0800000
DATA mconst<>+72(SB)/4, $0xc0800000
DATA mconst<>+76(SB)/4, $0xc0800000
DATA mconst<>+80(SB)/4, $0xc0800000
DATA mconst<>+84(SB)/4, $0xc0800000
DATA mconst<>+88(SB)/4, $0xc0800000
DATA mconst<>+92(SB)/4, $0xc0800000
DATA mconst<>+96(SB)/4, $0x3f000000 // half = 0.5
DATA mconst<>+100(SB)/4, $0x3f000000
DATA mconst<>+104(SB)/4, $0x3f000000
DATA mconst<>+108(SB)/4, $0x3f000000
DATA mconst<>+112(SB)/4, $0x3f000000
DATA mconst<>+116(SB)/4, $0x3f000000
DATA mconst<>+120(SB)/4, $0x3f000000
DATA mconst<>+124(SB)/4, $0x3f000000
DATA mconst<>+128(SB)/4, $0x3f906ebb // p0 = 1.128379225730896
DATA mconst<>+132(SB)/4, $0x3f906ebb
DATA mconst<>+136(SB)/4, $0x3f906ebb
DATA mconst<>+140(SB)/4, $0x3f906ebb
DATA mconst<>+144(SB)/4, $0x3f906ebb
DATA mconst<>+148(SB)/4, $0x3f906ebb
DATA mconst<>+152(SB)/4, $0x3f906ebb
DATA mconst<>+156(SB)/4, $0x3f906ebb
DATA mconst<>+160(SB)/4, $0x3e3de326 // p1 = 0.18543681502342224
DATA mconst<>+164(SB)/4, $0x3e3de326
DATA mconst<>+168(SB)/4, $0x3e3de326
DATA mconst<>+172(SB)/4, $0x3e3de326
DATA mconst<>+176(SB)/4, $0x3e3de326
DATA mconst<>+180(SB)/4, $0x3e3de326
DATA mconst<>+184(SB)/4, $0x3e3de326
DATA mconst<>+188(SB)/4, $0x3e3de326
DATA mconst<>+192(SB)/4, $0x3d5ddea3 // p2 = 0.05416740104556084
DATA mconst<>+196(SB)/4, $0x3d5ddea3
DATA mconst<>+200(SB)/4, $0x3d5ddea3
DATA mconst<>+204(SB)/4, $0x3d5ddea3
DATA mconst<>+208(SB)/4, $0x3d5ddea3
DATA mconst<>+212(SB)/4, $0x3d5ddea3
DATA mconst<>+216(SB)/4, $0x3d5ddea3
DATA mconst<>+220(SB)/4, $0x3d5ddea3
DATA mconst<>+224(SB)/4, $0x3b7b5b19 // p3 = 0.003835385898128152
DATA mconst<>+228(SB)/4, $0x3b7b5b19
DATA mconst<>+232(SB)/4, $0x3b7b5b19
DATA mconst<>+236(SB)/4, $0x3b7b5b19
DATA mconst<>+240(SB)/4, $0x3b7b5b19
DATA mconst<>+244(SB)/4, $0x3b7b5b19
DATA mconst<>+248(SB)/4, $0x3b7b5b19
DATA mconst<>+252(SB)/4, $0x3b7b5b19
DATA mconst<>+256(SB)/4, $0x39c2faff // p4 = 0.0003718957013916224
DATA mconst<>+260(SB)/4, $0x39c2faff
DATA mconst<>+264(SB)/4, $0x39c2faff
DATA mconst<>+268(SB)/4, $0x39c2faff
DATA mconst<>+272(SB)/4, $0x39c2faff
DATA mconst<>+276(SB)/4, $0x39c2faff
DATA mconst<>+280(SB)/4, $0x39c2faff
DATA mconst<>+284(SB)/4, $0x39c2faff
DATA mconst<>+288(SB)/4, $0x369628a9 // p5 = 4.475081823329674e-06
DATA mconst<>+292(SB)/4, $0x369628a9
DATA mconst<>+296(SB)/4, $0x369628a9
DATA mconst<>+300(SB)/4, $0x369628a9
DATA mconst<>+304(SB)/4, $0x369628a9
DATA mconst<>+308(SB)/4, $0x369628a9
DATA mconst<>+312(SB)/4, $0x369628a9
DATA mconst<>+316(SB)/4, $0x369628a9
DATA mconst<>+320(SB)/4, $0xb250905d // p6 = -1.2140017879858078e-08
DATA mconst<>+324(SB)/4, $0xb250905d
DATA mconst<>+328(SB)/4, $0xb250905d
DATA mconst<>+332(SB)/4, $0xb250905d
DATA mconst<>+336(SB)/4, $0xb250905d
DATA mconst<>+340(SB)/4, $0xb250905d
DATA mconst<>+344(SB)/4, $0xb250905d
DATA mconst<>+348(SB)/4, $0xb250905d
DATA mconst<>+352(SB)/4, $0x3efeceed // q1 = 0.4976724684238434
DATA mconst<>+356(SB)/4, $0x3efeceed
DATA mconst<>+360(SB)/4, $0x3efeceed
DATA mconst<>+364(SB)/4, $0x3efeceed
DATA mconst<>+368(SB)/4, $0x3efeceed
DATA mconst<>+372(SB)/4, $0x3efeceed
DATA mconst<>+376(SB)/4, $0x3efeceed
DATA mconst<>+380(SB)/4, $0x3efeceed
DATA mconst<>+384(SB)/4, $0x3de941d8 // q2 = 0.11389511823654175
DATA mconst<>+388(SB)/4, $0x3de941d8
DATA mconst<>+392(SB)/4, $0x3de941d8
DATA mconst<>+396(SB)/4, $0x3de941d8
DATA mconst<>+400(SB)/4, $0x3de941d8
DATA mconst<>+404(SB)/4, $0x3de941d8
DATA mconst<>+408(SB)/4, $0x3de941d8
DATA mconst<>+412(SB)/4, $0x3de941d8
DATA mconst<>+416(SB)/4, $0x3c7c6e8d // q3 = 0.015407216735184193
DATA mconst<>+420(SB)/4, $0x3c7c6e8d
DATA mconst<>+424(SB)/4, $0x3c7c6e8d
DATA mconst<>+428(SB)/4, $0x3c7c6e8d
DATA mconst<>+432(SB)/4, $0x3c7c6e8d
DATA mconst<>+436(SB)/4, $0x3c7c6e8d
DATA mconst<>+440(SB)/4, $0x3c7c6e8d
DATA mconst<>+444(SB)/4, $0x3c7c6e8d
DATA mconst<>+448(SB)/4, $0x3aa9a3b0 // q4 = 0.0012942459434270859
DATA mconst<>+452(SB)/4, $0x3aa9a3b0
DATA mconst<>+456(SB)/4, $0x3aa9a3b0
DATA mconst<>+460(SB)/4, $0x3aa9a3b0
DATA mconst<>+464(SB)/4, $0x3aa9a3b0
DATA mconst<>+468(SB)/4, $0x3aa9a3b0
DATA mconst<>+472(SB)/4, $0x3aa9a3b0
DATA mconst<>+476(SB)/4, $0x3aa9a3b0
DATA mconst<>+480(SB)/4, $0x38802bdc // q5 = 6.111685070209205e-05
DATA mconst<>+484(SB)/4, $0x38802bdc
DATA mconst<>+488(SB)/4, $0x38802bdc
DATA mconst<>+492(SB)/4, $0x38802bdc
DATA mconst<>+496(SB)/4, $0x38802bdc
DATA mconst<>+500(SB)/4, $0x38802bdc
DATA mconst<>+504(SB)/4, $0x38802bdc
DATA mconst<>+508(SB)/4, $0x38802bdc
DATA mconst<>+512(SB)/4, $0x3f800000 // one = 1.0
DATA mconst<>+516(SB)/4, $0x3f800000
DATA mconst<>+520(SB)/4, $0x3f800000
DATA mconst<>+524(SB)/4, $0x3f800000
DATA mconst<>+528(SB)/4, $0x3f800000
DATA mconst<>+532(SB)/4, $0x3f800000
DATA mconst<>+536(SB)/4, $0x3f800000
DATA mconst<>+540(SB)/4, $0x3f800000
DATA mconst<>+544(SB)/4, $0xc2aeac4f // explo = -87.33654
DATA mconst<>+548(SB)/4, $0xc2aeac4f
DATA mconst<>+552(SB)/4, $0xc2aeac4f
DATA mconst<>+556(SB)/4, $0xc2aeac4f
DATA mconst<>+560(SB)/4, $0xc2aeac4f
DATA mconst<>+564(SB)/4, $0xc2aeac4f
DATA mconst<>+568(SB)/4, $0xc2aeac4f
DATA mconst<>+572(SB)/4, $0xc2aeac4f
DATA mconst<>+576(SB)/4, $0x42b00000 // exphi = 88.0
DATA mconst<>+580(SB)/4, $0x42b00000
DATA mconst<>+584(SB)/4, $0x42b00000
DATA mconst<>+588(SB)/4, $0x42b00000
DATA mconst<>+592(SB)/4, $0x42b00000
DATA mconst<>+596(SB)/4, $0x42b00000
DATA mconst<>+600(SB)/4, $0x42b00000
DATA mconst<>+604(SB)/4, $0x42b00000
DATA mconst<>+608(SB)/4, $0x3fb8aa3b // log2e = 1.4426950408889634
DATA mconst<>+612(SB)/4, $0x3fb8aa3b
DATA mconst<>+616(SB)/4, $0x3fb8aa3b
DATA mconst<>+620(SB)/4, $0x3fb8aa3b
DATA mconst<>+624(SB)/4, $0x3fb8aa3b
DATA mconst<>+628(SB)/4, $0x3fb8aa3b
DATA mconst<>+632(SB)/4, $0x3fb8aa3b
DATA mconst<>+636(SB)/4, $0x3fb8aa3b
DATA mconst<>+640(SB)/4, $0x3f318000 // ln2hi = 0.693359375
DATA mconst<>+644(SB)/4, $0x3f318000
DATA mconst<>+648(SB)/4, $0x3f318000
DATA mconst<>+652(SB)/4, $0x3f318000
DATA mconst<>+656(SB)/4, $0x3f318000
DATA mconst<>+660(SB)/4, $0x3f318000
DATA mconst<>+664(SB)/4, $0x3f318000
DATA mconst<>+668(SB)/4, $0x3f318000
DATA mconst<>+672(SB)/4, $0xb95e8083 // ln2lo = -0.00021219444
DATA mconst<>+676(SB)/4, $0xb95e8083
DATA mconst<>+680(SB)/4, $0xb95e8083
DATA mconst<>+684(SB)/4, $0xb95e8083
DATA mconst<>+688(SB)/4, $0xb95e8083
DATA mconst<>+692(SB)/4, $0xb95e8083
DATA mconst<>+696(SB)/4, $0xb95e8083
DATA mconst<>+700(SB)/4, $0xb95e8083
DATA mconst<>+704(SB)/4, $0x3f000000 // c2 = 0.5
DATA mconst<>+708(SB)/4, $0x3f000000
DATA mconst<>+712(SB)/4, $0x3f000000
DATA mconst<>+716(SB)/4, $0x3f000000
DATA mconst<>+720(SB)/4, $0x3f000000
DATA mconst<>+724(SB)/4, $0x3f000000
DATA mconst<>+728(SB)/4, $0x3f000000
DATA mconst<>+732(SB)/4, $0x3f000000
DATA mconst<>+736(SB)/4, $0x3e2aaaab // c3 = 0.16666666666666666
DATA mconst<>+740(SB)/4, $0x3e2aaaab
DATA mconst<>+744(SB)/4, $0x3e2aaaab
DATA mconst<>+748(SB)/4, $0x3e2aaaab
DATA mconst<>+752(SB)/4, $0x3e2aaaab
DATA mconst<>+756(SB)/4, $0x3e2aaaab
DATA mconst<>+760(SB)/4, $0x3e2aaaab
DATA mconst<>+764(SB)/4, $0x3e2aaaab
DATA mconst<>+768(SB)/4, $0x3d2aaaab // c4 = 0.041666666666666664
DATA mconst<>+772(SB)/4, $0x3d2aaaab
DATA mconst<>+776(SB)/4, $0x3d2aaaab
DATA mconst<>+780(SB)/4, $0x3d2aaaab
DATA mconst<>+784(SB)/4, $0x3d2aaaab
DATA mconst<>+788(SB)/4, $0x3d2aaaab
DATA mconst<>+792(SB)/4, $0x3d2aaaab
DATA mconst<>+796(SB)/4, $0x3d2aaaab
DATA mconst<>+800(SB)/4, $0x3c088889 // c5 = 0.008333333333333333
DATA mconst<>+804(SB)/4, $0x3c088889
DATA mconst<>+808(SB)/4, $0x3c088889
DATA mconst<>+812(SB)/4, $0x3c088889
DATA mconst<>+816(SB)/4, $0x3c088889
DATA mconst<>+820(SB)/4, $0x3c088889
DATA mconst<>+824(SB)/4, $0x3c088889
DATA mconst<>+828(SB)/4, $0x3c088889
DATA mconst<>+832(SB)/4, $0x3ab60b61 // c6 = 0.001388888888888889
DATA mconst<>+836(SB)/4, $0x3ab60b61
DATA mconst<>+840(SB)/4, $0x3ab60b61
DATA mconst<>+844(SB)/4, $0x3ab60b61
DATA mconst<>+848(SB)/4, $0x3ab60b61
DATA mconst<>+852(SB)/4, $0x3ab60b61
DATA mconst<>+856(SB)/4, $0x3ab60b61
DATA mconst<>+860(SB)/4, $0x3ab60b61
GLOBL mconst<>(SB), RODATA|NOPTR, $864

// func geluErf8(x []float32)
// x = 0.5*x*(1+erf(x/sqrt2)), erf(z) = z*P(z^2)/Q(z^2) on z clamped to [-4,4].
TEXT ·geluErf8(SB), NOSPLIT, $0-24
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $3, CX
	JEQ  gdone
gloop:
	VMOVUPS (SI), Y0
	VMULPS mconst<>+0(SB), Y0, Y1
	VMINPS mconst<>+32(SB), Y1, Y1
	VMAXPS mconst<>+64(SB), Y1, Y1
	VMULPS Y1, Y1, Y2
	VMOVUPS mconst<>+320(SB), Y3
	VFMADD213PS mconst<>+288(SB), Y2, Y3
	VFMADD213PS mconst<>+256(SB), Y2, Y3
	VFMADD213PS mconst<>+224(SB), Y2, Y3
	VFMADD213PS mconst<>+192(SB), Y2, Y3
	VFMADD213PS mconst<>+160(SB), Y2, Y3
	VFMADD213PS mconst<>+128(SB), Y2, Y3
	VMOVUPS mconst<>+480(SB), Y4
	VFMADD213PS mconst<>+448(SB), Y2, Y4
	VFMADD213PS mconst<>+416(SB), Y2, Y4
	VFMADD213PS mconst<>+384(SB), Y2, Y4
	VFMADD213PS mconst<>+352(SB), Y2, Y4
	VFMADD213PS mconst<>+512(SB), Y2, Y4
	VMULPS Y1, Y3, Y3
	VDIVPS Y4, Y3, Y3
	VMULPS mconst<>+96(SB), Y0, Y0
	VFMADD231PS Y3, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNE  gloop
gdone:
	VZEROUPPER
	RET

// func expShiftSum8(s []float32, shift, scale float32) float32
// s[i] = exp((s[i]-shift)*scale) for the first len/8*8 elements; returns
// their sum. exp(y): y = n*ln2 + r, degree-6 Taylor polynomial of e^r,
// times 2^n; y < -87.33654 gives 0.
TEXT ·expShiftSum8(SB), NOSPLIT, $0-36
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), CX
	VBROADCASTSS shift+24(FP), Y14
	VBROADCASTSS scale+28(FP), Y15
	VXORPS Y13, Y13, Y13
	MOVL $127, AX
	MOVD AX, X12
	VPBROADCASTD X12, Y12
	SHRQ $3, CX
	JEQ  edone
eloop:
	VMOVUPS (SI), Y0
	VSUBPS Y14, Y0, Y0
	VMULPS Y15, Y0, Y0
	VCMPPS $1, mconst<>+544(SB), Y0, Y11
	VMAXPS mconst<>+544(SB), Y0, Y0
	VMINPS mconst<>+576(SB), Y0, Y0
	VMULPS mconst<>+608(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS mconst<>+640(SB), Y1, Y0
	VFNMADD231PS mconst<>+672(SB), Y1, Y0
	VMOVUPS mconst<>+832(SB), Y2
	VFMADD213PS mconst<>+800(SB), Y0, Y2
	VFMADD213PS mconst<>+768(SB), Y0, Y2
	VFMADD213PS mconst<>+736(SB), Y0, Y2
	VFMADD213PS mconst<>+704(SB), Y0, Y2
	VFMADD213PS mconst<>+512(SB), Y0, Y2
	VFMADD213PS mconst<>+512(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPADDD Y12, Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y2, Y2
	VANDNPS Y2, Y11, Y2
	VADDPS Y2, Y13, Y13
	VMOVUPS Y2, (SI)
	ADDQ $32, SI
	DECQ CX
	JNE  eloop
edone:
	VEXTRACTF128 $1, Y13, X1
	VADDPS X1, X13, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func max8(s []float32) float32
// Maximum of the first len/8*8 elements (len >= 8).
TEXT ·max8(SB), NOSPLIT, $0-28
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), CX
	SHRQ $3, CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	DECQ CX
	JEQ  mdone
mloop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNE  mloop
mdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
