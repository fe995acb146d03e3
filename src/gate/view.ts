// What the gate knows of its deployment: the deployment as last read, its
// allocations by ID, and the index each was read at. Watches (blocking queries,
// or the event stream) write into it; decisions read it. One writer at a time:
// the watches call in on the event loop, never concurrently.

import type { AllocView, Deployment, DeploymentState } from '../nomad/types.js'
import {
  combine,
  evaluateGroup,
  runningCanaries,
  type GroupState,
  type Readiness,
} from './readiness.js'

export class RolloutView {
  deployment: Deployment
  readonly allocs = new Map<string, AllocView>()
  /** X-Nomad-Index of the deployment's last answer (its ModifyIndex for a read by ID). */
  deploymentIndex: number
  /** Index of the allocations' last answer; 0 until they are read. */
  allocsIndex = 0
  /** The view's version when a plain read last confirmed it current (Follower.confirm). */
  confirmed = -1
  /** The highest X-Nomad-Index answered to either: the raft index the view is as recent as. */
  lastIndex: number
  /** Bumped on every change, so a waiter can tell whether one happened since it looked. */
  version = 0
  /** ModifyIndex of the first answer that showed every selected group with canaries promoted. */
  promotedAt?: number
  /**
   * Each group's state as last computed; a change drops the entries of the
   * groups it touches, and readiness() computes again only those: the cost of
   * a change does not grow with the deployment's other groups.
   */
  private readonly groups = new Map<string, GroupState>()

  constructor(
    deployment: Deployment,
    index: number,
    readonly selected: readonly string[],
    /** Whether the allocations are followed too (not by fail, pause, resume). */
    readonly follows = true,
  ) {
    this.deployment = deployment
    this.deploymentIndex = index
    this.lastIndex = index
    this.notePromotion()
  }

  get allocsRead(): boolean {
    return this.allocsIndex > 0
  }

  /**
   * The deployment and its allocations as one snapshot. Two blocking queries
   * answer apart: the deployment can have changed (failed, paused, promoted by
   * someone else) while its answer is still on its way, whatever the
   * allocations' index says. Both answered at the same index: both are the
   * state at that index. Else the side behind is read again after the other
   * (Follower.confirm), which makes it current as of a moment after the
   * other's answer.
   */
  get consistent(): boolean {
    if (!this.follows || this.deploymentIndex === this.allocsIndex) return true
    return this.confirmed === this.version
  }

  setDeployment(d: Deployment, index: number): void {
    const before = this.deployment.TaskGroups
    for (const name of new Set([...Object.keys(before), ...Object.keys(d.TaskGroups)])) {
      if (!sameForGroup(before[name], d.TaskGroups[name])) this.groups.delete(name)
    }
    this.deployment = d
    this.deploymentIndex = Math.max(index, d.ModifyIndex)
    this.lastIndex = Math.max(this.lastIndex, this.deploymentIndex)
    this.notePromotion()
    this.version++
  }

  /** A full list of the deployment's allocations (a blocking query's answer). */
  setAllocs(list: readonly AllocView[], index: number): void {
    this.allocs.clear()
    for (const a of list) this.allocs.set(a.ID, a)
    this.groups.clear()
    this.allocsIndex = Math.max(1, index)
    this.lastIndex = Math.max(this.lastIndex, index)
    this.version++
  }

  /** One allocation as an event carries it; the caller bumps the indexes (current). */
  upsertAlloc(a: AllocView): void {
    this.allocs.set(a.ID, a)
    this.groups.delete(a.TaskGroup)
  }

  /** The event stream has delivered every change up to `index`: what it follows is that recent. */
  current(index: number): void {
    this.deploymentIndex = Math.max(this.deploymentIndex, index)
    if (this.follows) this.allocsIndex = Math.max(this.allocsIndex, index)
    this.lastIndex = Math.max(this.lastIndex, index)
    this.version++
  }

  readiness(): Readiness {
    const group = (name: string): GroupState => {
      let g = this.groups.get(name)
      if (!g) {
        g = evaluateGroup(name, this.deployment.TaskGroups[name], this.allocs)
        this.groups.set(name, g)
      }
      return g
    }
    return combine(this.deployment, group, this.selected)
  }

  runningCanaries(): AllocView[] | undefined {
    return runningCanaries(this.deployment, this.allocs, this.selected)
  }

  private notePromotion(): void {
    if (this.promotedAt !== undefined) return
    const groups = this.selected
      .map((g) => this.deployment.TaskGroups[g])
      .filter((g) => g && g.DesiredCanaries > 0)
    if (groups.length > 0 && groups.every((g) => g.Promoted))
      this.promotedAt = this.deployment.ModifyIndex
  }
}

/** Equal in what a group's evaluation reads of the deployment (evaluateGroup): its state stands. */
function sameForGroup(a: DeploymentState | undefined, b: DeploymentState | undefined): boolean {
  // The name is the deployment's before or after: a group in only one of them changed.
  if (!a || !b) return false
  if (a.DesiredCanaries !== b.DesiredCanaries || a.Promoted !== b.Promoted) return false
  const pa = a.PlacedCanaries ?? []
  const pb = b.PlacedCanaries ?? []
  return pa.length === pb.length && pa.every((id, i) => id === pb[i])
}
