package quality

import "fmt"

// Constants are the standard control-chart constants for subgroup size N (ASTM STP 15D,
// Montgomery, Introduction to Statistical Quality Control, Appendix VI), rounded as the
// published tables are so that limits match textbook calculations.
type Constants struct {
	N  int
	A2 float64 // X̄ limits from R̄: X̿ ± A2·R̄
	A3 float64 // X̄ limits from S̄: X̿ ± A3·S̄
	B3 float64 // S chart lower limit B3·S̄
	B4 float64 // S chart upper limit B4·S̄
	C4 float64 // unbiasing constant: E[s] = c4·σ
	D2 float64 // d2: E[R] = d2·σ
	D3 float64 // R chart lower limit D3·R̄
	D4 float64 // R chart upper limit D4·R̄
	E2 float64 // individuals limits from MR̄ of span N: X̄ ± E2·MR̄ (E2 = 3/d2)
}

// constants[n-2] holds the constants for subgroup size n = 2..25.
var constants = [...]Constants{
	{2, 1.880, 2.659, 0, 3.267, 0.7979, 1.128, 0, 3.267, 2.660},
	{3, 1.023, 1.954, 0, 2.568, 0.8862, 1.693, 0, 2.574, 1.772},
	{4, 0.729, 1.628, 0, 2.266, 0.9213, 2.059, 0, 2.282, 1.457},
	{5, 0.577, 1.427, 0, 2.089, 0.9400, 2.326, 0, 2.114, 1.290},
	{6, 0.483, 1.287, 0.030, 1.970, 0.9515, 2.534, 0, 2.004, 1.184},
	{7, 0.419, 1.182, 0.118, 1.882, 0.9594, 2.704, 0.076, 1.924, 1.109},
	{8, 0.373, 1.099, 0.185, 1.815, 0.9650, 2.847, 0.136, 1.864, 1.054},
	{9, 0.337, 1.032, 0.239, 1.761, 0.9693, 2.970, 0.184, 1.816, 1.010},
	{10, 0.308, 0.975, 0.284, 1.716, 0.9727, 3.078, 0.223, 1.777, 0.975},
	{11, 0.285, 0.927, 0.321, 1.679, 0.9754, 3.173, 0.256, 1.744, 0.945},
	{12, 0.266, 0.886, 0.354, 1.646, 0.9776, 3.258, 0.283, 1.717, 0.921},
	{13, 0.249, 0.850, 0.382, 1.618, 0.9794, 3.336, 0.307, 1.693, 0.899},
	{14, 0.235, 0.817, 0.406, 1.594, 0.9810, 3.407, 0.328, 1.672, 0.881},
	{15, 0.223, 0.789, 0.428, 1.572, 0.9823, 3.472, 0.347, 1.653, 0.864},
	{16, 0.212, 0.763, 0.448, 1.552, 0.9835, 3.532, 0.363, 1.637, 0.849},
	{17, 0.203, 0.739, 0.466, 1.534, 0.9845, 3.588, 0.378, 1.622, 0.836},
	{18, 0.194, 0.718, 0.482, 1.518, 0.9854, 3.640, 0.391, 1.608, 0.824},
	{19, 0.187, 0.698, 0.497, 1.503, 0.9862, 3.689, 0.403, 1.597, 0.813},
	{20, 0.180, 0.680, 0.510, 1.490, 0.9869, 3.735, 0.415, 1.585, 0.803},
	{21, 0.173, 0.663, 0.523, 1.477, 0.9876, 3.778, 0.425, 1.575, 0.794},
	{22, 0.167, 0.647, 0.534, 1.466, 0.9882, 3.819, 0.434, 1.566, 0.786},
	{23, 0.162, 0.633, 0.545, 1.455, 0.9887, 3.858, 0.443, 1.557, 0.778},
	{24, 0.157, 0.619, 0.555, 1.445, 0.9892, 3.895, 0.451, 1.548, 0.770},
	{25, 0.153, 0.606, 0.565, 1.435, 0.9896, 3.931, 0.459, 1.541, 0.763},
}

// ConstantsFor returns the control-chart constants for subgroup size n (2 to 25).
func ConstantsFor(n int) (Constants, error) {
	if n < 2 || n > 25 {
		return Constants{}, fmt.Errorf("%w: subgroup size %d; control-chart constants exist for sizes 2 to 25 (use individuals for 1)", ErrInsufficientData, n)
	}
	return constants[n-2], nil
}
