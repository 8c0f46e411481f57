# Generates resize_reference.json: PIL's bilinear (antialiased) resize of a small deterministic image, the
# reference for EmbeddingDistillation.Vision.Resampler. Run with Debian's python3 (PIL 9.4):
#   /usr/bin/python3 make_resize_reference.py
import json
from PIL import Image

W, H = 23, 17

def pixels():
    # Same LCG as the C# test (ResamplerTests.SourcePixels): state = state * 1103515245 + 12345 mod 2^31.
    state = 12345
    out = []
    for _ in range(W * H * 3):
        state = (state * 1103515245 + 12345) % (2 ** 31)
        out.append((state >> 16) & 255)
    return bytes(out)

src = Image.frombytes("RGB", (W, H), pixels())
cases = []
# (crop left, top, width, height, out width, out height): torchvision's resized_crop = crop, then resize.
for (l, t, w, h, ow, oh) in [(0, 0, W, H, 10, 7), (0, 0, W, H, 31, 25), (0, 0, W, H, 23, 9), (3, 2, 15, 12, 8, 8), (5, 1, 6, 14, 11, 5)]:
    out = src.crop((l, t, l + w, t + h)).resize((ow, oh), Image.BILINEAR)
    cases.append({"left": l, "top": t, "width": w, "height": h, "outWidth": ow, "outHeight": oh, "pixels": list(out.tobytes())})
with open("resize_reference.json", "w") as f:
    json.dump({"width": W, "height": H, "cases": cases}, f, separators=(",", ":"))
