package canary

import (
	"math"
	"testing"
)

// TestMix pairs control and experiment series by their tags, leaving out
// tags that name the scope itself, pads a short side with NaN to the
// window's points, and gives a tag set one side lacks an all-NaN side.
func TestMix(t *testing.T) {
	ctrl := []Series{
		{Tags: map[string]string{"server_group": "web-v001", "code": "500"}, Values: []float64{1, 2}},
		{Tags: map[string]string{"server_group": "web-v001", "code": "503"}, Values: []float64{3, 4, 5}},
	}
	exp := []Series{
		{Tags: map[string]string{"server_group": "web-v002", "code": "500"}, Values: []float64{6, 7, 8}},
	}
	got := mix("errors", ctrl, exp, 3, 3)
	if len(got) != 2 {
		t.Fatalf("two tag sets, got %d: %+v", len(got), got)
	}
	p500, p503 := got[0], got[1]
	if p500.Tags["code"] != "500" || p500.Tags["server_group"] != "" {
		t.Errorf("pairs on the tags that are not the scope: %v", p500.Tags)
	}
	if len(p500.Control) != 3 || !math.IsNaN(p500.Control[2]) || p500.Experiment[2] != 8 {
		t.Errorf("a short side is padded with NaN: %v / %v", p500.Control, p500.Experiment)
	}
	if len(p503.Experiment) != 3 || !math.IsNaN(p503.Experiment[0]) {
		t.Errorf("a side missing for a tag set is all NaN: %v", p503.Experiment)
	}
	if none := mix("errors", nil, nil, 2, 2); len(none) != 1 || len(none[0].Control) != 2 || !math.IsNaN(none[0].Control[0]) {
		t.Errorf("no data at all is one all-NaN pair, judged Nodata: %+v", none)
	}
}
