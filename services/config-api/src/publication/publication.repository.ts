/** The published version: bumped after every change to what services receive. */
export interface PublicationState {
  version: number;
  updatedAt: Date;
}

export interface PublicationStateRepository {
  /** The current state; version 0 before anything was published. */
  read(): Promise<PublicationState>;
  /** Increments the version atomically and returns the new state. */
  bump(at: Date): Promise<PublicationState>;
}
