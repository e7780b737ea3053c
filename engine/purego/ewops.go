package purego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Element-wise operations are recorded as SimpleGo operations tagged with an
// ewCode. At Compile time, chains of them over the same large float tensor are
// fused into one parallel kernel each (fusion.go); the others replay into
// SimpleGo.

// ewCode names an element-wise operation the fused kernels implement.
type ewCode uint8

const (
	ewNone ewCode = iota
	// binary, float operands and result
	ewAdd
	ewSub
	ewMul
	ewDiv
	ewMax
	ewMin
	ewPow
	// unary, float
	ewNeg
	ewAbs
	ewExp
	ewLog
	ewLog1p
	ewLogistic
	ewTanh
	ewSqrt
	ewRsqrt
	ewSign
	ewIdentity
	ewConvert // bool to float, or float to the same float type
	// comparisons: float operands, bool result
	ewGT
	ewGE
	ewLT
	ewLE
	ewEQ
	ewNE
	// logical: bool operands and result
	ewAnd
	ewOr
	ewNot
	// Where(bool, float, float)
	ewWhere
	// Formed inside fused kernels from two operations (fusedProgram.combine):
	ewMulAdd // a*b + c, rounded after the product as Mul then Add
	ewSwish  // a * Logistic(a)
)

// ewNames are the operations' names, for fused nodes' names.
var ewNames = [...]string{ewNone: "?", ewAdd: "Add", ewSub: "Sub", ewMul: "Mul", ewDiv: "Div", ewMax: "Max", ewMin: "Min",
	ewPow: "Pow", ewNeg: "Neg", ewAbs: "Abs", ewExp: "Exp", ewLog: "Log", ewLog1p: "Log1p", ewLogistic: "Logistic",
	ewTanh: "Tanh", ewSqrt: "Sqrt", ewRsqrt: "Rsqrt", ewSign: "Sign", ewIdentity: "Identity", ewConvert: "ConvertDType",
	ewGT: "GreaterThan", ewGE: "GreaterOrEqual", ewLT: "LessThan", ewLE: "LessOrEqual", ewEQ: "Equal", ewNE: "NotEqual",
	ewAnd: "LogicalAnd", ewOr: "LogicalOr", ewNot: "LogicalNot", ewWhere: "Where", ewMulAdd: "MulAdd", ewSwish: "Swish"}

// recordEW records a SimpleGo operation tagged as element-wise.
func (b *Builder) recordEW(name string, code ewCode, in []backends.Op, op func(sb backends.Builder, in []backends.Op) (backends.Op, error)) (backends.Op, error) {
	outs, err := b.record(name, in, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		o, err := op(sb, in)
		return []backends.Op{o}, err
	})
	if err != nil {
		return nil, err
	}
	if !b.backend.noKernels {
		outs[0].(*value).node.ew = code
	}
	return outs[0], nil
}

type unaryMethod = func(backends.Builder, backends.Op) (backends.Op, error)
type binaryMethod = func(backends.Builder, backends.Op, backends.Op) (backends.Op, error)

func (b *Builder) unaryEW(name string, code ewCode, x backends.Op, m unaryMethod) (backends.Op, error) {
	return b.recordEW(name, code, []backends.Op{x}, func(sb backends.Builder, in []backends.Op) (backends.Op, error) {
		return m(sb, in[0])
	})
}

func (b *Builder) binaryEW(name string, code ewCode, x, y backends.Op, m binaryMethod) (backends.Op, error) {
	return b.recordEW(name, code, []backends.Op{x, y}, func(sb backends.Builder, in []backends.Op) (backends.Op, error) {
		return m(sb, in[0], in[1])
	})
}

// Add returns lhs + rhs.
func (b *Builder) Add(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Add", ewAdd, lhs, rhs, backends.Builder.Add)
}

// Sub returns lhs - rhs.
func (b *Builder) Sub(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Sub", ewSub, lhs, rhs, backends.Builder.Sub)
}

// Mul returns lhs * rhs.
func (b *Builder) Mul(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Mul", ewMul, lhs, rhs, backends.Builder.Mul)
}

// Div returns lhs / rhs.
func (b *Builder) Div(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Div", ewDiv, lhs, rhs, backends.Builder.Div)
}

// Max returns the element-wise maximum.
func (b *Builder) Max(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Max", ewMax, lhs, rhs, backends.Builder.Max)
}

// Min returns the element-wise minimum.
func (b *Builder) Min(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Min", ewMin, lhs, rhs, backends.Builder.Min)
}

// Pow returns lhs to the power rhs.
func (b *Builder) Pow(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Pow", ewPow, lhs, rhs, backends.Builder.Pow)
}

// Neg returns -x.
func (b *Builder) Neg(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Neg", ewNeg, x, backends.Builder.Neg)
}

// Abs returns |x|.
func (b *Builder) Abs(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Abs", ewAbs, x, backends.Builder.Abs)
}

// Exp returns e^x.
func (b *Builder) Exp(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Exp", ewExp, x, backends.Builder.Exp)
}

// Log returns the natural logarithm of x.
func (b *Builder) Log(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Log", ewLog, x, backends.Builder.Log)
}

// Log1p returns log(1+x).
func (b *Builder) Log1p(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Log1p", ewLog1p, x, backends.Builder.Log1p)
}

// Logistic returns 1/(1+e^-x).
func (b *Builder) Logistic(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Logistic", ewLogistic, x, backends.Builder.Logistic)
}

// Tanh returns the hyperbolic tangent of x.
func (b *Builder) Tanh(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Tanh", ewTanh, x, backends.Builder.Tanh)
}

// Sqrt returns the square root of x.
func (b *Builder) Sqrt(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Sqrt", ewSqrt, x, backends.Builder.Sqrt)
}

// Rsqrt returns 1/sqrt(x).
func (b *Builder) Rsqrt(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Rsqrt", ewRsqrt, x, backends.Builder.Rsqrt)
}

// Sign returns -1, 0 or 1 according to the sign of x. The fused kernel keeps
// NaN and the sign of zero, as XLA does; SimpleGo's own operation (for small
// tensors) gives 0 for NaN.
func (b *Builder) Sign(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Sign", ewSign, x, backends.Builder.Sign)
}

// Identity returns x.
func (b *Builder) Identity(x backends.Op) (backends.Op, error) {
	return b.unaryEW("Identity", ewIdentity, x, backends.Builder.Identity)
}

// ConvertDType converts x to dtype; bool to float and float to the same float
// type are element-wise operations the fused kernels take.
func (b *Builder) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	code := ewNone
	if v, err := b.value("ConvertDType", x); err == nil && isFloat(dtype) && (v.shape.DType == dtypes.Bool || v.shape.DType == dtype) {
		code = ewConvert
	}
	return b.recordEW("ConvertDType", code, []backends.Op{x}, func(sb backends.Builder, in []backends.Op) (backends.Op, error) {
		return sb.ConvertDType(in[0], dtype)
	})
}

// GreaterThan returns lhs > rhs.
func (b *Builder) GreaterThan(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("GreaterThan", ewGT, lhs, rhs, backends.Builder.GreaterThan)
}

// GreaterOrEqual returns lhs >= rhs.
func (b *Builder) GreaterOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("GreaterOrEqual", ewGE, lhs, rhs, backends.Builder.GreaterOrEqual)
}

// LessThan returns lhs < rhs.
func (b *Builder) LessThan(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("LessThan", ewLT, lhs, rhs, backends.Builder.LessThan)
}

// LessOrEqual returns lhs <= rhs.
func (b *Builder) LessOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("LessOrEqual", ewLE, lhs, rhs, backends.Builder.LessOrEqual)
}

// Equal returns lhs == rhs.
func (b *Builder) Equal(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("Equal", ewEQ, lhs, rhs, backends.Builder.Equal)
}

// NotEqual returns lhs != rhs.
func (b *Builder) NotEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("NotEqual", ewNE, lhs, rhs, backends.Builder.NotEqual)
}

// LogicalAnd returns lhs && rhs.
func (b *Builder) LogicalAnd(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("LogicalAnd", ewAnd, lhs, rhs, backends.Builder.LogicalAnd)
}

// LogicalOr returns lhs || rhs.
func (b *Builder) LogicalOr(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binaryEW("LogicalOr", ewOr, lhs, rhs, backends.Builder.LogicalOr)
}

// LogicalNot returns !x.
func (b *Builder) LogicalNot(x backends.Op) (backends.Op, error) {
	return b.unaryEW("LogicalNot", ewNot, x, backends.Builder.LogicalNot)
}

// Where returns onTrue where condition holds, onFalse elsewhere.
func (b *Builder) Where(condition, onTrue, onFalse backends.Op) (backends.Op, error) {
	return b.recordEW("Where", ewWhere, []backends.Op{condition, onTrue, onFalse}, func(sb backends.Builder, in []backends.Op) (backends.Op, error) {
		return sb.Where(in[0], in[1], in[2])
	})
}

func isFloat(dtype dtypes.DType) bool { return dtype == dtypes.Float32 || dtype == dtypes.Float64 }
