using EmbeddingDistillation.Data;
using EmbeddingDistillation.Networks;
using static TorchSharp.torch;
// The embedding geometry of trained quickstart networks (docs/quickstart.md, "What the relational terms transfer here"):
// for the dataset of SEED (the quickstart's defaults: 100 classes x 50 images at 32 px, 10 validation classes), each
// network's mean distance between images of the same class ("within") and of different classes ("between"), and the
// spread of the class centroids' distances, on the training and the test classes.
// usage: SEED teacher=FILE name=FILE ...  (a name starting with "teacher" is the quickstart's ResNet-18 teacher,
// any other the MobileNetV1-0.25 student with its small-input stem; both 128-d)
int seed = int.Parse(args[0]);
set_num_threads(1);
var ds = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 100, ImagesPerClass = 50, ImageSize = 32, Seed = seed });
var split = ClassSplit.PaperProtocol(ds.Labels, 10);
foreach (var spec in args.Skip(1))
{
    var parts = spec.Split('=');
    var path = parts[1];
    bool teacher = parts[0].StartsWith("teacher");
    var net = teacher ? EmbeddingNetworks.Create("resnet18", 128, new EmbeddingNetworkOptions { BaseWidth = 64 })
                      : EmbeddingNetworks.Create("mobilenetv1-0.25", 128, new EmbeddingNetworkOptions { SmallInputStem = true });
    NetworkCheckpoint.Load(net, path);
    net.Module.eval();
    foreach (var (setName, idx) in new[] { ("train", split.TrainIndices), ("test", split.TestIndices) })
    {
        using var scope = NewDisposeScope();
        var embs = new List<Tensor>();
        using (no_grad())
            for (int i = 0; i < idx.Count; i += 256)
                embs.Add(net.call(ds.LoadImages(idx.Skip(i).Take(256).ToList(), false, 0)));
        var e = cat(embs, 0);
        var labels = tensor(idx.Select(i => (long)ds.Labels[i]).ToArray());
        var d = cdist(e, e);
        var same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
        var eye = eye_like(d);
        var within = d.masked_select(same.logical_and(eye.logical_not())); var between = d.masked_select(same.logical_not());
        // class centroids (normalised) and their distance matrix
        var cls = labels.unique().Item1;
        var cents = stack(cls.data<long>().Select(c => e[labels.eq(c)].mean([0])).ToArray());
        var cd = cdist(cents, cents); var off = cd.masked_select(eye_like(cd).logical_not());
        // share of between-class pair distance variance explained by the class pair (vs within-pair noise)
        Console.WriteLine($"{parts[0],-18} {setName,-5} within {within.mean().item<float>():F3}±{within.std().item<float>():F3}  between {between.mean().item<float>():F3}±{between.std().item<float>():F3}  centroid-dist {off.mean().item<float>():F3}±{off.std().item<float>():F3} (cv {off.std().item<float>() / off.mean().item<float>():F3}) centroid-norm {cents.norm(1).mean().item<float>():F3}");
    }
}
static Tensor eye_like(Tensor d) => eye(d.shape[0], dtype: ScalarType.Bool);
