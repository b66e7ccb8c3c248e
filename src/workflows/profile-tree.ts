/** A profile's tree from the generated base tree, as `bk validate` and the fit check both need it. */
import { SEALED_SUFFIX } from "../model/layout.js";
import type { ProfileModel } from "../model/profiles.js";
import type { Generated } from "../pipeline.js";
import { synthesize } from "../synth/index.js";
import { profileTree, type ProfileTree } from "../synth/profiles.js";

/** The SealedSecrets stay out of the patched part: every profile applies the same sealed files. */
export function profileTreeOf(g: Generated, p: ProfileModel): ProfileTree {
  const sealed = g.tree.objects.filter((o) => o.file.endsWith(SEALED_SUFFIX));
  const base = g.tree.objects.filter((o) => !o.file.endsWith(SEALED_SUFFIX));
  return profileTree(g.model, p, base, (pm) =>
    synthesize(
      pm,
      sealed.map((o) => o.object),
    ),
  );
}
